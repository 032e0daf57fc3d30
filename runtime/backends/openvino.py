"""OpenVINO backend for IR files (``.xml`` + ``.bin``) on the CPU plugin.

OpenVINO runs float models in bf16 on CPUs that support it unless told otherwise. fp32 and fp16 artifacts
(fp16 is a storage format on CPU) therefore get ``INFERENCE_PRECISION_HINT=f32`` unless a hint is given;
int8 artifacts keep the plugin's choice. The precision actually used is read back and recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import ArtifactError, require
from edgeconv.runtime.artifact_info import read_sidecar
from edgeconv.runtime.backends.base import Opened, Session, TensorSpec
from edgeconv.runtime.device import isa_cap, usable_flags


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


def compile_config(hint: str, threads: int | None) -> dict[str, Any]:
    """The CPU plugin's settings for ``hint`` and ``threads``: one stream, no performance hint (as
    benchmark_app -hint none)."""
    config: dict[str, Any] = {"NUM_STREAMS": "1"}
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = threads
    sent = hint
    if hint in ("default", "bf16") and isa_cap() and not usable_flags({"avx512_bf16", "amx_bf16"}):
        # the plugin sees bf16 units in CPUID, but oneDNN capped by ONEDNN_MAX_CPU_ISA has no bf16 kernels
        # and compiling fails ("object is not initialized"): run f32, as on a CPU without bf16 units
        sent = "f32"
    if sent != "default":
        config["INFERENCE_PRECISION_HINT"] = sent
    return config


class OpenVINOSession(Session):
    """A compiled OpenVINO model with one infer request, one stream, and a fixed thread count."""

    _input: np.ndarray  # the infer request's own input buffer

    @classmethod
    def _open(cls, path: Path, threads: int | None, precision_hint: str | None = None) -> Opened:
        """Compile for the CPU: one stream, ``threads`` inference threads, the precision hint above."""
        ov = require("openvino", "openvino", "running OpenVINO .xml models")
        hint = precision_hint or default_hint(path)
        config = compile_config(hint, threads)
        core = ov.Core()
        compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        return Opened(
            handle=compiled.create_infer_request(),
            inputs=[_spec(port, path, "input") for port in compiled.inputs],
            outputs=[_spec(port, path, "output") for port in compiled.outputs],
            version=ov.__version__,
            settings={
                "streams": 1,
                "precision_hint": hint,
                "execution_precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
                "actual_threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
            },
        )

    def _bind(self) -> None:
        self._input = self.handle.get_input_tensor().data

    def _run(self, array: np.ndarray) -> np.ndarray:
        # Copy into the request's own buffer and infer synchronously, as benchmark_app -api sync does: binding
        # a new tensor per call makes the plugin re-bind memory, and start_async + wait hands the work to
        # another thread, which at one thread and millisecond latencies adds up to 40% (measured here).
        self._input[...] = array
        self.handle.infer()
        return np.array(self.handle.get_output_tensor(0).data)

    def plugin_latency_ms(self) -> float:
        """The plugin's own timing of the last inference (what benchmark_app's statistics are made of)."""
        return float(self.handle.latency)
