"""Everything edgeconv knows about each model format, in one declaration per format.

A :class:`FormatSpec` names the file suffix and its companion files, the precisions the exporter makes, the
pip extras (to export, to run), the converter and the runtime backend as lazy ``module:attribute`` names, the
backend's options (the CLI derives its flags from them), which graph ops the int8 ``float_ends`` recipe keeps
in float, and the parity tolerances. This module is torch-free: the device side reads it too.

Adding a format: its converter module (``exporters/``), its backend module (``runtime/backends/``), one
``register_format`` call below, and its tests.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from edgeconv.errors import ArtifactError, UsageError

PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class BackendOption:
    """A setting of one runtime backend: a keyword of its loader and a ``bench`` flag of the same name.

    ``choices`` None makes a ``--name/--no-name`` switch; otherwise the option takes one of the choices.
    Unset (None) always means the backend's own default, and is recorded as such.
    """

    name: str
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class FormatSpec:
    """One model format, end to end: how edgeconv writes it and how a device runs it."""

    name: str
    label: str  # as users know it, in messages
    suffix: str
    companions: Mapping[str, str]  # suffix -> what the file beside the main one holds (OpenVINO's weights)
    precisions: tuple[str, ...]
    export_extra: str  # pip extra that installs the converter
    runtime_extra: str  # pip extra that installs the runtime (device side)
    converter: str  # "module:function" taking a ConversionRequest
    backend: str  # "module:Class", a Session subclass with an ``_open`` classmethod
    backend_name: str
    runtime_modules: tuple[str, ...]  # importable packages that provide the runtime, preferred first
    tool_packages: tuple[str, ...]  # distributions whose versions the sidecar records
    parity_tolerance: Mapping[str, float]  # max abs logit difference accepted right after export
    float_ends_ops: tuple[str, str]  # this format's op types for the first conv and the classifier
    backend_options: tuple[BackendOption, ...] = field(default_factory=tuple)
    # the bytes a file of this format starts with, at magic_offset (None: after a BOM and blank space, as in XML)
    magic: bytes = b""
    magic_offset: int | None = 0
    # int8 scheme name -> what it is; the first is used for a CPU that ``scheme_by_int8_path`` does not name
    int8_schemes: Mapping[str, str] = field(default_factory=dict)
    scheme_by_int8_path: Mapping[str, str] = field(default_factory=dict)  # runtime.device.int8_path -> scheme

    def int8_scheme(self, requested: str, int8_path: str) -> str:
        """The int8 scheme to export: ``requested``, or with ``auto`` the fast one for a CPU whose int8 path
        (:func:`edgeconv.runtime.device.int8_path`) is ``int8_path``."""
        if requested == "auto":
            return self.scheme_by_int8_path.get(int8_path, next(iter(self.int8_schemes)))
        if requested not in self.int8_schemes:
            raise UsageError(
                f"{self.name} int8 has no scheme {requested!r} (its schemes: auto, {', '.join(self.int8_schemes)})"
            )
        return requested

    def holds(self, head: bytes) -> bool:
        """Whether ``head`` (a file's first bytes) starts the way this format's files do."""
        if not self.magic:
            return False
        if self.magic_offset is None:
            return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(self.magic)
        return head[self.magic_offset : self.magic_offset + len(self.magic)] == self.magic

    def files(self, path: Path) -> list[Path]:
        """The artifact's main file and its companions, in a fixed order."""
        return [path] + [path.with_suffix(s) for s in self.companions]

    def load_converter(self) -> Any:
        return _attribute(self.converter)

    def load_backend(self) -> Any:
        return _attribute(self.backend)

    def installed_runtime(self) -> tuple[str, str] | None:
        """(package, version) of the first installed runtime module, found without importing it."""
        for module in self.runtime_modules:
            if importlib.util.find_spec(module) is not None:
                distribution = module.replace("_", "-")
                try:
                    return distribution, metadata.version(distribution)
                except metadata.PackageNotFoundError:
                    return distribution, "unknown version"
        return None

    def check_precision(self, precision: str) -> None:
        if precision not in PRECISIONS:
            raise UsageError(f"unknown precision {precision!r} (precisions: {', '.join(PRECISIONS)})")
        if precision not in self.precisions:
            raise UsageError(f"{self.name} export supports {', '.join(self.precisions)}, not {precision!r}")


def _attribute(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def first_and_last(ops: list[tuple[str, str]], kinds: tuple[str, str]) -> list[str]:
    """Names of the first op of kind ``kinds[0]`` and the last of kind ``kinds[1]``, from (kind, name) pairs in
    graph order: the first convolution and the classifier, which the ``float_ends`` recipe keeps in float."""
    first = [name for kind, name in ops if kind == kinds[0]][:1]
    last = [name for kind, name in ops if kind == kinds[1]][-1:]
    return first + last


_FORMATS: dict[str, FormatSpec] = {}


def register_format(spec: FormatSpec) -> None:
    """Add a format; a name or suffix registered twice is an error."""
    if spec.name in _FORMATS:
        raise ValueError(f"format {spec.name!r} is already registered")
    if any(other.suffix == spec.suffix for other in _FORMATS.values()):
        raise ValueError(f"suffix {spec.suffix!r} already belongs to another format")
    _FORMATS[spec.name] = spec


def list_formats() -> list[str]:
    """Registered format names, in registration order."""
    return list(_FORMATS)


def all_formats() -> list[FormatSpec]:
    return list(_FORMATS.values())


def get_format(name: str) -> FormatSpec:
    """The spec of format ``name``; unknown names raise with a suggestion."""
    try:
        return _FORMATS[name]
    except KeyError:
        close = difflib.get_close_matches(name.lower(), list(_FORMATS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unknown export format {name!r}{hint} (formats: {', '.join(_FORMATS)})") from None


def format_for(path: Path) -> FormatSpec:
    """The format of the model file ``path``, by its suffix."""
    suffix = path.suffix.lower()
    for spec in _FORMATS.values():
        if suffix == spec.suffix:
            return spec
    known = ", ".join(f"{s.suffix} ({s.backend_name})" for s in _FORMATS.values())
    raise ArtifactError(f"{path.name}: unsupported model file type {suffix or '(no suffix)'!r}; edgeconv runs {known}")


# Max abs logit difference after export, times the largest logit where that is above 1. fp32: rounding over 50+
# layers of random-weight networks at 224 px (logits 100+) reached 1.3e-4 (RegNetY-800MF, TFLite) to 6.5e-4
# (SE-ResNet-50, TFLite); a conversion bug is 1e-1 or more. int8 is judged by the accuracy gate.
FLOAT_TOLERANCES = {"fp32": 1e-3, "fp16": 5e-2, "int8": float("inf")}

register_format(
    FormatSpec(
        name="onnx",
        label="ONNX",
        suffix=".onnx",
        companions={},
        precisions=("fp32", "int8"),
        export_extra="host",
        runtime_extra="onnx",
        converter="edgeconv.exporters.onnx:convert",
        backend="edgeconv.runtime.backends.ort:OrtSession",
        backend_name="onnxruntime",
        runtime_modules=("onnxruntime",),
        tool_packages=("torch", "onnx", "onnxscript", "onnxruntime"),
        parity_tolerance=FLOAT_TOLERANCES,
        float_ends_ops=("Conv", "Gemm"),
        magic=b"\x08",  # ModelProto's first field, ir_version, as a varint
        int8_schemes={
            "s8s8": "int8 activations and weights (onnxruntime's documented default; its fast kernels on ARM)",
            "u8s8": "uint8 activations, int8 weights (onnxruntime's fast kernels on x86-64; exact with VNNI/AMX)",
            "u8s8-7bit": "uint8 activations, 7-bit int8 weights (x86-64 without VNNI, whose 16-bit u8 x s8 "
            "sums saturate with full-range weights)",
        },
        scheme_by_int8_path={"amx": "u8s8", "avx512-vnni": "u8s8", "avx-vnni": "u8s8", "avx2": "u8s8-7bit"},
        backend_options=(
            BackendOption(
                "spinning",
                "onnxruntime: let idle threads busy-wait (faster on a quiet machine, slower under contention). "
                "[default: the runtime's, which spins]",
            ),
        ),
    )
)
register_format(
    FormatSpec(
        name="tflite",
        label="TFLite",
        suffix=".tflite",
        companions={},
        precisions=("fp32", "fp16", "int8"),
        export_extra="tflite",
        runtime_extra="litert",
        converter="edgeconv.exporters.tflite:convert",
        backend="edgeconv.runtime.backends.litert:LiteRTSession",
        backend_name="litert",
        runtime_modules=("ai_edge_litert", "tflite_runtime"),
        tool_packages=("torch", "litert-torch", "ai-edge-quantizer", "ai-edge-litert"),
        parity_tolerance=FLOAT_TOLERANCES,
        float_ends_ops=("CONV_2D", "FULLY_CONNECTED"),
        magic=b"TFL3",  # the flatbuffer's file identifier, after the root table offset
        magic_offset=4,
        int8_schemes={"s8s8": "int8 activations and weights, the TFLite int8 spec (XNNPACK's kernels on every CPU)"},
    )
)
register_format(
    FormatSpec(
        name="openvino",
        label="OpenVINO",
        suffix=".xml",
        companions={".bin": "weights file"},
        precisions=("fp32", "fp16", "int8"),
        export_extra="ov-export",
        runtime_extra="openvino",
        converter="edgeconv.exporters.openvino:convert",
        backend="edgeconv.runtime.backends.openvino:OpenVINOSession",
        backend_name="openvino",
        runtime_modules=("openvino",),
        tool_packages=("torch", "openvino", "nncf"),
        parity_tolerance=FLOAT_TOLERANCES,
        float_ends_ops=("Convolution", "MatMul"),
        magic=b"<",
        magic_offset=None,
        int8_schemes={
            "nncf": "NNCF's int8 with full-range weights (CPUs with VNNI/AMX, and ARM)",
            "nncf-7bit": "NNCF's int8 with 7-bit weights in every layer (overflow fix: x86-64 without VNNI)",
        },
        scheme_by_int8_path={"avx2": "nncf-7bit"},
        backend_options=(
            BackendOption(
                "precision_hint",
                "OpenVINO: inference precision. [default: f32 for fp32/fp16 artifacts, the plugin's choice for int8]",
                ("f32", "bf16", "f16", "default"),
            ),
        ),
    )
)
