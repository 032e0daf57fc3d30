"""edgeconv's workstation side of deployment: export a PyTorch model to a device format.

``export(model, format, precision, calibration, out_dir) -> Artifact``; formats live in one registry.
"""

from __future__ import annotations

from edgeconv.exporters.artifact import Artifact
from edgeconv.exporters.export import ParityError, export
from edgeconv.exporters.registry import ExporterSpec, get_exporter, list_formats, register_exporter

__all__ = ["Artifact", "ExporterSpec", "ParityError", "export", "get_exporter", "list_formats", "register_exporter"]
