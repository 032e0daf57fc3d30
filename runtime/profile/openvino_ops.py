"""Per-op times of an OpenVINO IR from the CPU plugin's own performance counters (``PERF_COUNT``).

Each inference request reports every node of the compiled graph with its real time and status; the compiled
(runtime) model's ``originalLayersNames`` says which nodes of the IR each executed node stands for, so fusions
are the plugin's own account of them.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import require
from edgeconv.runtime.profile.fusion import FOLDED
from edgeconv.runtime.profile.layers import Layer, kind_of

_WEIGHTED = {"Convolution", "GroupConvolution", "MatMul"}
_IO = {"Parameter", "Result", "Constant"}


def _shape(partial: Any) -> tuple[int, ...] | None:
    return tuple(int(d) for d in partial.to_shape()) if partial.is_static else None


def _text(info: Any, key: str) -> str:
    return str(info[key].astype(str)) if key in info else ""


def _original_work(model: Any) -> dict[str, tuple[int, tuple[int, ...]]]:
    """MACs and weight shape of every convolution and matrix product of the IR, by friendly name."""
    work = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() not in _WEIGHTED:
            continue
        weight, out = _shape(op.get_input_partial_shape(1)), _shape(op.get_output_partial_shape(0))
        if not weight or not out:
            continue
        channels = out[1] if len(out) > 2 else 1
        spatial = int(np.prod(out)) // (out[0] * channels) * out[0] if len(out) > 2 else int(np.prod(out[:-1]))
        work[op.get_friendly_name()] = (spatial * int(np.prod(weight)), weight)
    return work


def _consumer(op: Any, fused: dict[str, str], executed: dict[str, Layer], depth: int = 4) -> str | None:
    """The executed node that the first consumer of ``op``'s output accounted for by the plugin stands in."""
    frontier = [op]
    for _ in range(depth):
        frontier = [i.get_node() for node in frontier for out in node.outputs() for i in out.get_target_inputs()]
        for node in frontier:
            name = node.get_friendly_name()
            if name in executed:
                return name
            if fused.get(name) in executed:
                return fused[name]
    return None


def _traffic(op: Any) -> int:
    total = 0
    ports = [(op.get_input_partial_shape(i), op.get_input_element_type(i)) for i in range(op.get_input_size())]
    ports += [(op.get_output_partial_shape(i), op.get_output_element_type(i)) for i in range(op.get_output_size())]
    for partial, element in ports:
        shape = _shape(partial)
        if shape is not None:
            total += int(np.prod(shape)) * max(element.size, 1)
    return total


def profile_openvino(path: Path, threads: int | None, runs: int, precision_hint: str | None = None) -> dict[str, Any]:
    """Run ``path`` ``runs`` times with the plugin's performance counters on; layers, fusions, run time."""
    ov = require("openvino", "openvino", "profiling OpenVINO models")
    from edgeconv.runtime.backends.openvino import compile_config, default_hint

    core = ov.Core()
    model = core.read_model(str(path))
    config = {**compile_config(precision_hint or default_hint(path), threads), "PERF_COUNT": True}
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    port = compiled.inputs[0]
    request.get_input_tensor().data[...] = np.random.default_rng(0).standard_normal(tuple(port.shape))
    request.infer()  # the first inference allocates: not profiled
    times: dict[str, list[float]] = {}
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        request.infer()
        walls.append((time.perf_counter() - started) * 1e3)
        for entry in request.get_profiling_info():
            if str(entry.status).endswith("EXECUTED") and not str(entry.status).endswith("NOT_EXECUTED"):
                times.setdefault(entry.node_name, []).append(entry.real_time.total_seconds() * 1e3)
    work = _original_work(model)
    fused: dict[str, str] = {}
    layers = []
    for op in compiled.get_runtime_model().get_ordered_ops():
        info, name = op.get_rt_info(), op.get_friendly_name()
        if name not in times:  # not executed in any profiled run: its originals are accounted for below
            continue
        originals = [n for n in _text(info, "originalLayersNames").split(",") if n]
        for original in originals:
            if original != name:
                fused[original] = name
        layer_type = _text(info, "layerType") or op.get_type_name()
        macs, weight = 0, None
        for original in originals:
            if original in work:
                macs, weight = macs + work[original][0], work[original][1]
        kind = kind_of(layer_type, weight, None) if weight else kind_of(layer_type, None, None)
        if weight and len(weight) == 5:
            kind = "depthwise conv"
        layer = Layer(name, layer_type, kind, statistics.median(times[name]), macs, _traffic(op))
        layer.fused = sorted(o for o in originals if o != name)
        layers.append(layer)
    by_name = {layer.name: layer for layer in layers}
    for op in model.get_ordered_ops():
        name = op.get_friendly_name()
        if op.get_type_name() in _IO or name in by_name or name in fused:
            continue
        into = _consumer(op, fused, by_name) if name in work else None
        if into is not None:  # a product the plugin fused without naming it (a linear's MatMul into its Add)
            by_name[into].macs += work[name][0]
            by_name[into].fused = sorted({*by_name[into].fused, name})
            fused[name] = into
        else:  # weight decompression and in-place reshapes: computed at compile time
            fused[name] = FOLDED
    return {
        "profiler": f"OpenVINO {ov.__version__} CPU performance counters",
        "layers": layers,
        "fused": fused,
        "profiled_run_ms": statistics.median(walls) if walls else None,
    }
