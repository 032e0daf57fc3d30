"""edgeconv's workstation side of deployment: export a PyTorch model to a device format.

``export(model, format, precision, calibration, out_dir) -> Artifact``; formats are declared in
``edgeconv.runtime.formats``.
"""

from __future__ import annotations

from edgeconv.exporters.artifact import Artifact
from edgeconv.exporters.export import ParityError, export
from edgeconv.runtime.formats import FormatSpec, get_format, list_formats, register_format

__all__ = ["Artifact", "FormatSpec", "ParityError", "export", "get_format", "list_formats", "register_format"]
