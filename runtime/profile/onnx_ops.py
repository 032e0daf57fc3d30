"""Per-op times of an ``.onnx`` file from onnxruntime's own profiler (``SessionOptions.enable_profiling``).

The profiler writes one ``Node`` event per executed kernel and run, with its input and output shapes; the
executed nodes' names say which nodes of the file each stands for (:mod:`edgeconv.runtime.profile.fusion`).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import require
from edgeconv.runtime.profile.fusion import fused_into
from edgeconv.runtime.profile.layers import Layer, kind_of
from edgeconv.runtime.profile.onnx_wire import Node, read_graph

_ITEM_BYTES = {"float": 4, "uint8": 1, "int8": 1, "int32": 4, "int64": 8, "float16": 2}
_WEIGHTED = {"Conv", "Gemm", "MatMul"}  # the file's ops whose second input is a weight


def _numel(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape)) if shape else 1


def _weights(nodes: list[Node], initializers: dict[str, tuple[tuple[int, ...], int]]) -> dict[str, tuple]:
    """Weight shape and bytes per element of each Conv/Gemm/MatMul of the file (through the
    DequantizeLinear of a QDQ weight)."""
    producer = {tensor: node for node in nodes for tensor in node.outputs}
    found = {}
    for node in nodes:
        if node.op_type not in _WEIGHTED or len(node.inputs) < 2:
            continue
        tensor = node.inputs[1]
        if tensor not in initializers and tensor in producer and producer[tensor].op_type == "DequantizeLinear":
            tensor = producer[tensor].inputs[0]
        if tensor in initializers:
            found[node.name] = initializers[tensor]
    return found


def _spatial(out: tuple[int, ...], dtype: str, channels: int) -> int:
    """Output elements per output channel, in NCHW, onnxruntime's NCHWc (float, channels padded to its block)
    or NHWC (its layout for int8 convolutions)."""
    if len(out) <= 2:
        return _numel(out[:-1])
    axis = 1 if out[1] == channels or dtype == "float" else len(out) - 1
    return _numel(out) // (out[0] * out[axis]) * out[0]


def layer_of(name: str, args: dict[str, Any], durations_us: list[float], weight: tuple | None) -> Layer:
    """A :class:`Layer` from one node's profiler events (their ``args`` and durations) and the weight
    (shape, bytes per element) of the file's node it computes, if any."""
    op = args["op_name"]
    inputs = [(t, tuple(shape)) for entry in args.get("input_type_shape", []) for t, shape in entry.items()]
    outputs = [(t, tuple(shape)) for entry in args.get("output_type_shape", []) for t, shape in entry.items()]
    traffic = sum(_numel(shape) * _ITEM_BYTES.get(dtype, 4) for dtype, shape in inputs + outputs)
    macs, kind = 0, kind_of(op, None, None)
    if weight is not None and outputs:
        shape, item = weight
        kind = kind_of("Conv" if len(shape) == 4 else "Gemm", shape, None)
        macs = _spatial(outputs[0][1], outputs[0][0], shape[0]) * _numel(shape)
        if not any(s == shape for _, s in inputs):  # prepacked: onnxruntime does not list it
            traffic += _numel(shape) * item
    return Layer(name, op, kind, statistics.median(durations_us) / 1e3, int(macs), int(traffic))


def profile_onnx(path: Path, threads: int | None, runs: int, spinning: bool | None = None) -> dict[str, Any]:
    """Run ``path`` ``runs`` times under onnxruntime's profiler; the layers, the fusions and the median
    wall time of a profiled run."""
    ort = require("onnxruntime", "onnx", "profiling .onnx models")
    from edgeconv.runtime.backends.ort import session_options

    with tempfile.TemporaryDirectory(prefix="edgeconv-profile-") as scratch:
        options = session_options(ort, threads, spinning)
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(scratch) / "ort")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {node.name: _input(node) for node in session.get_inputs()}
        for _ in range(runs + 1):  # the first run allocates and packs: its events are dropped below
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    kernel: dict[str, list[float]] = {}
    args: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            name = event["name"].removesuffix("_kernel_time")
            kernel.setdefault(name, []).append(float(event["dur"]))  # in run order
            args.setdefault(name, event["args"])
    model_runs = [float(e["dur"]) for e in events if e.get("name") == "model_run"][1:]
    nodes, initializers = read_graph(path)
    fusions = fused_into(nodes, list(kernel))
    weights = _weights(nodes, initializers)
    weight_of = {fusions.get(original, original): w for original, w in weights.items()}
    layers = [
        layer_of(name, args[name], durations[1:] or durations, weight_of.get(name))
        for name, durations in kernel.items()
    ]
    for layer in layers:
        layer.fused = sorted(original for original, into in fusions.items() if into == layer.name)
    return {
        "profiler": f"onnxruntime {ort.__version__} session profiling",
        "layers": layers,
        "fused": fusions,
        "profiled_run_ms": statistics.median(model_runs) / 1e3 if model_runs else None,
    }


def _input(node: Any) -> np.ndarray:
    dtype = {"tensor(uint8)": np.uint8, "tensor(int8)": np.int8}.get(node.type, np.float32)
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(node.shape).astype(dtype)
    return rng.integers(0, 127, node.shape).astype(dtype)
