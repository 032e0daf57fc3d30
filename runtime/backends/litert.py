"""LiteRT backend for ``.tflite`` files: ai-edge-litert's interpreter (XNNPACK applied by default), falling
back to the legacy ``tflite-runtime`` package where ai-edge-litert has no wheel."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import ArtifactError, MissingExtraError, UsageError
from edgeconv.quiet import quiet
from edgeconv.runtime.backends.base import Session, TensorSpec


def _interpreter_class() -> tuple[Any, str, str]:
    """(Interpreter class, package name, version) of the first installed LiteRT runtime."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert", metadata.version("ai-edge-litert")
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite-runtime", metadata.version("tflite-runtime")
    except ImportError:
        raise MissingExtraError(
            "running .tflite models needs the 'litert' extra (ai-edge-litert is not installed): "
            "pip install 'edgeconv[litert]'"
        ) from None


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

    _interpreter: Any
    _input_index: int
    _output_index: int

    def _run(self, array: np.ndarray) -> np.ndarray:
        self._interpreter.set_tensor(self._input_index, array)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._output_index))


def load(path: Path, threads: int | None = None) -> LiteRTSession:
    """Load a .tflite model; ``threads`` sets the interpreter's (and XNNPACK's) thread count."""
    interpreter_class, package, version = _interpreter_class()
    if threads is not None and threads < 1:
        raise UsageError(f"threads must be >= 1, got {threads}")
    try:
        with quiet():  # the interpreter announces its XNNPACK delegate on stderr
            interpreter = interpreter_class(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"{path.name} is not a loadable TFLite model: {first_line}") from None
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or not outputs:
        raise ArtifactError(f"{path.name}: expected one input and at least one output")
    session = LiteRTSession(
        path=path,
        backend="litert",
        backend_version=f"{package} {version}",
        input=_spec(inputs[0]),
        output=_spec(outputs[0]),
        settings={"threads": threads if threads is not None else "default", "delegate": "XNNPACK (default)"},
    )
    session._interpreter = interpreter
    session._input_index = inputs[0]["index"]
    session._output_index = outputs[0]["index"]
    return session
