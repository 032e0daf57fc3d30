"""LiteRT backend for ``.tflite`` files: ai-edge-litert's interpreter (XNNPACK applied by default), falling
back to the legacy ``tflite-runtime`` package where ai-edge-litert has no wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import MissingExtraError
from edgeconv.runtime.backends.base import Opened, Session, TensorSpec
from edgeconv.runtime.formats import get_format


def _interpreter_class() -> tuple[Any, str]:
    """(Interpreter class, "package version") of the first installed LiteRT runtime."""
    spec = get_format("tflite")
    installed = spec.installed_runtime()
    if installed is None:
        raise MissingExtraError(
            f"running .tflite models needs the '{spec.runtime_extra}' extra (ai-edge-litert is not installed): "
            f"pip install 'edgeconv[{spec.runtime_extra}]'"
        )
    package, version = installed
    if package == "ai-edge-litert":
        from ai_edge_litert.interpreter import Interpreter
    else:
        from tflite_runtime.interpreter import Interpreter
    return Interpreter, f"{package} {version}"


def _spec(detail: dict[str, Any]) -> TensorSpec:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    quantized = np.dtype(detail["dtype"]).kind in "iu" and scale
    return TensorSpec(
        detail["name"],
        tuple(int(d) for d in detail["shape"]),
        np.dtype(detail["dtype"]).name,
        float(scale) if quantized else None,
        int(zero_point) if quantized else None,
    )


class LiteRTSession(Session):
    """A LiteRT interpreter with its tensors allocated."""

    _input_index: int
    _output_index: int

    @classmethod
    def _open(cls, path: Path, threads: int | None) -> Opened:
        """``threads`` sets the interpreter's (and XNNPACK's) thread count."""
        interpreter_class, version = _interpreter_class()
        interpreter = interpreter_class(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
        return Opened(
            handle=interpreter,
            inputs=[_spec(d) for d in interpreter.get_input_details()],
            outputs=[_spec(d) for d in interpreter.get_output_details()],
            version=version,
            settings={"delegate": "XNNPACK (default)"},
        )

    def _bind(self) -> None:
        self._input_index = self.handle.get_input_details()[0]["index"]
        self._output_index = self.handle.get_output_details()[0]["index"]

    def _run(self, array: np.ndarray) -> np.ndarray:
        self.handle.set_tensor(self._input_index, array)
        self.handle.invoke()
        return np.array(self.handle.get_tensor(self._output_index))
