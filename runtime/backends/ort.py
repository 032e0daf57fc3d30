"""ONNX Runtime backend (CPU execution provider), for ``.onnx`` files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import ArtifactError, require
from edgeconv.runtime.backends.base import Opened, Session, TensorSpec

_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
}


def _spec(node: Any, path: Path) -> TensorSpec:
    """Static shape and numpy dtype of an onnxruntime ``NodeArg``."""
    shape = tuple(node.shape)
    if not all(isinstance(dim, int) and dim > 0 for dim in shape):
        raise ArtifactError(
            f"{path.name}: input/output {node.name!r} has a dynamic shape {shape}; "
            "edgeconv benchmarks static shapes (export with a fixed input size)"
        )
    if node.type not in _ORT_TYPES:
        raise ArtifactError(f"{path.name}: unsupported tensor type {node.type}")
    return TensorSpec(node.name, tuple(int(d) for d in shape), _ORT_TYPES[node.type])


def session_options(ort: Any, threads: int | None, spinning: bool | None) -> Any:
    """The ``SessionOptions`` edgeconv measures with (and profiles with: :mod:`edgeconv.runtime.profile`)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        options.intra_op_num_threads = threads
    if spinning is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


class OrtSession(Session):
    """An ``onnxruntime.InferenceSession`` with explicit, recorded threading settings."""

    @classmethod
    def _open(cls, path: Path, threads: int | None, spinning: bool | None = None) -> Opened:
        """``threads``: the intra-op pool size (None: one per physical core). ``spinning``:
        ``session.intra_op.allow_spinning`` (None: onnxruntime's default, which spins)."""
        ort = require("onnxruntime", "onnx", "running .onnx models")
        options = session_options(ort, threads, spinning)
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return Opened(
            handle=session,
            inputs=[_spec(node, path) for node in session.get_inputs()],
            outputs=[_spec(node, path) for node in session.get_outputs()],
            version=ort.__version__,
            settings={
                "allow_spinning": "default" if spinning is None else spinning,
                "execution_provider": "CPUExecutionProvider",
                "graph_optimization": "all",
            },
        )

    def _run(self, array: np.ndarray) -> np.ndarray:
        return self.handle.run([self.output.name], {self.input.name: array})[0]
