"""OpenVINO backend for IR files (``.xml`` + ``.bin``) on the CPU plugin.

OpenVINO runs float models in bf16 on CPUs that support it unless told otherwise. fp32 and fp16 artifacts
(fp16 is a storage format on CPU) therefore get ``INFERENCE_PRECISION_HINT=f32`` unless a hint is given;
int8 artifacts keep the plugin's choice. The precision actually used is read back and recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import ArtifactError, UsageError, require
from edgeconv.runtime.artifact_info import read_sidecar
from edgeconv.runtime.backends.base import Session, TensorSpec

PRECISION_HINTS = ("f32", "bf16", "f16", "default")


class OpenVINOSession(Session):
    """A compiled OpenVINO model with one infer request, one stream, and a fixed thread count."""

    _request: Any
    _input: np.ndarray  # the infer request's own input buffer

    def _run(self, array: np.ndarray) -> np.ndarray:
        # Copy into the request's own buffer and infer synchronously, as benchmark_app -api sync does: binding
        # a new tensor per call makes the plugin re-bind memory, and start_async + wait hands the work to
        # another thread, which at one thread and millisecond latencies adds up to 40% (measured here).
        self._input[...] = array
        self._request.infer()
        return np.array(self._request.get_output_tensor(0).data)

    def plugin_latency_ms(self) -> float:
        """The plugin's own timing of the last inference (what benchmark_app's statistics are made of)."""
        return float(self._request.latency)


def _spec(port: Any, path: Path, fallback_name: str) -> TensorSpec:
    name = sorted(port.get_names())[0] if port.get_names() else fallback_name
    shape = port.get_partial_shape()
    if shape.is_dynamic:
        raise ArtifactError(f"{path.name}: {name} has a dynamic shape {shape}; export with a static one")
    return TensorSpec(name, tuple(int(d) for d in shape.to_shape()), port.get_element_type().to_dtype().name)


def default_hint(path: Path) -> str:
    """``f32`` for float artifacts, the plugin's own choice for int8 ones (from the sidecar's precision)."""
    sidecar = read_sidecar(path) or {}
    return "default" if sidecar.get("precision") == "int8" else "f32"


def load(path: Path, threads: int | None = None, precision_hint: str | None = None) -> OpenVINOSession:
    """Compile an IR for the CPU: one stream, ``threads`` inference threads, the precision hint above."""
    ov = require("openvino", "openvino", "running OpenVINO .xml models")
    if threads is not None and threads < 1:
        raise UsageError(f"threads must be >= 1, got {threads}")
    hint = precision_hint or default_hint(path)
    if hint not in PRECISION_HINTS:
        raise UsageError(f"precision hint must be one of {', '.join(PRECISION_HINTS)}, got {hint!r}")
    if not path.with_suffix(".bin").is_file():
        raise ArtifactError(f"{path.name} needs its weights file {path.with_suffix('.bin').name} next to it")
    config: dict[str, Any] = {"NUM_STREAMS": "1"}  # no performance hint, as benchmark_app -hint none
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = threads
    if hint != "default":
        config["INFERENCE_PRECISION_HINT"] = hint
    core = ov.Core()
    try:
        compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
    except Exception as exc:  # OpenVINO raises RuntimeError subclasses with multi-line messages
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__  # the innermost, most specific message
        raise ArtifactError(f"{path.name} is not a loadable OpenVINO model: {reason}") from None
    if len(compiled.inputs) != 1:
        raise ArtifactError(f"{path.name}: expected one input, found {len(compiled.inputs)}")
    session = OpenVINOSession(
        path=path,
        backend="openvino",
        backend_version=ov.__version__,
        input=_spec(compiled.inputs[0], path, "input"),
        output=_spec(compiled.outputs[0], path, "output"),
        settings={
            "threads": threads if threads is not None else "default",
            "streams": 1,
            "precision_hint": hint,
            "execution_precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
            "actual_threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
        },
    )
    session._request = compiled.create_infer_request()
    session._input = session._request.get_input_tensor().data
    return session
