"""ONNX Runtime backend (CPU execution provider), for ``.onnx`` files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import ArtifactError, UsageError, require
from edgeconv.runtime.backends.base import Session, TensorSpec

_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
}


class OrtSession(Session):
    """An ``onnxruntime.InferenceSession`` with explicit, recorded threading settings."""

    _session: Any

    def _run(self, array: np.ndarray) -> np.ndarray:
        return self._session.run([self.output.name], {self.input.name: array})[0]


def _spec(node: Any, path: Path) -> TensorSpec:
    """Static shape and numpy dtype of an onnxruntime ``NodeArg``."""
    shape = tuple(node.shape)
    if not all(isinstance(dim, int) and dim > 0 for dim in shape):
        raise ArtifactError(
            f"{path.name}: input/output {node.name!r} has a dynamic shape {shape}; "
            "edgeconv benchmarks static shapes (export with a fixed input size)"
        )
    ort_type = node.type
    if ort_type not in _ORT_TYPES:
        raise ArtifactError(f"{path.name}: unsupported tensor type {ort_type}")
    return TensorSpec(node.name, tuple(int(d) for d in shape), _ORT_TYPES[ort_type])


def load(path: Path, threads: int | None = None, spinning: bool | None = None) -> OrtSession:
    """Load an ONNX model on the CPU execution provider.

    ``threads`` sets the intra-op pool size (None: onnxruntime's default, one per physical core).
    ``spinning`` sets ``session.intra_op.allow_spinning`` (None: onnxruntime's default, which spins).
    """
    ort = require("onnxruntime", "onnx", "running .onnx models")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        if threads < 1:
            raise UsageError(f"threads must be >= 1, got {threads}")
        options.intra_op_num_threads = threads
    if spinning is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own pybind exception types for every kind of bad file
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"{path.name} is not a loadable ONNX model: {first_line}") from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) < 1:
        raise ArtifactError(
            f"{path.name}: expected one input and at least one output, found {len(inputs)} and {len(outputs)}"
        )
    result = OrtSession(
        path=path,
        backend="onnxruntime",
        backend_version=ort.__version__,
        input=_spec(inputs[0], path),
        output=_spec(outputs[0], path),
        settings={
            "threads": threads if threads is not None else "default",
            "allow_spinning": "default" if spinning is None else spinning,
            "execution_provider": "CPUExecutionProvider",
            "graph_optimization": "all",
        },
    )
    result._session = session
    return result
