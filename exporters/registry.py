"""Exporter registry: one typed spec per output format (suffix, precisions, extra, converter)."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgeconv.errors import UsageError

if TYPE_CHECKING:
    from edgeconv.exporters.recipe import ConversionRequest

# convert(request) writes request.destination and returns facts about the result to record
Converter = Callable[["ConversionRequest"], dict[str, Any]]


@dataclass(frozen=True)
class ExporterSpec:
    """One export format."""

    name: str
    suffix: str
    precisions: tuple[str, ...]
    extra: str  # the pip extra that installs the converter
    converter: str  # "module:function" of the Converter, imported only when used
    tool_packages: tuple[str, ...]  # distributions whose versions the sidecar records
    parity_tolerance: dict[str, float]  # max abs logit difference accepted per precision

    def load_converter(self) -> Converter:
        module_name, _, function = self.converter.partition(":")
        module = importlib.import_module(module_name)
        converter: Converter = getattr(module, function)
        return converter


_EXPORTERS: dict[str, ExporterSpec] = {}


def register_exporter(spec: ExporterSpec) -> None:
    """Add a format; registering a name twice is an error."""
    if spec.name in _EXPORTERS:
        raise ValueError(f"exporter {spec.name!r} is already registered")
    _EXPORTERS[spec.name] = spec


def list_formats() -> list[str]:
    """Registered format names, in registration order."""
    return list(_EXPORTERS)


def get_exporter(name: str) -> ExporterSpec:
    """The spec of format ``name``; unknown names raise with a suggestion."""
    try:
        return _EXPORTERS[name]
    except KeyError:
        close = difflib.get_close_matches(name.lower(), list(_EXPORTERS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unknown export format {name!r}{hint} (formats: {', '.join(_EXPORTERS)})") from None


register_exporter(
    ExporterSpec(
        name="onnx",
        suffix=".onnx",
        precisions=("fp32", "int8"),
        extra="host",
        converter="edgeconv.exporters.onnx:convert",
        tool_packages=("torch", "onnx", "onnxscript", "onnxruntime"),
        parity_tolerance={"fp32": 1e-4, "int8": float("inf")},  # int8 is judged by the accuracy gate
    )
)
register_exporter(
    ExporterSpec(
        name="tflite",
        suffix=".tflite",
        precisions=("fp32", "fp16", "int8"),
        extra="tflite",
        converter="edgeconv.exporters.tflite:convert",
        tool_packages=("torch", "litert-torch", "ai-edge-quantizer", "ai-edge-litert"),
        parity_tolerance={"fp32": 1e-4, "fp16": 5e-2, "int8": float("inf")},
    )
)
register_exporter(
    ExporterSpec(
        name="openvino",
        suffix=".xml",
        precisions=("fp32", "fp16", "int8"),
        extra="ov-export",
        converter="edgeconv.exporters.openvino:convert",
        tool_packages=("torch", "openvino", "nncf"),
        parity_tolerance={"fp32": 1e-4, "fp16": 5e-2, "int8": float("inf")},
    )
)
