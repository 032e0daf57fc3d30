"""The ``Artifact`` record: what an exported model file is, how it was made, and how faithful it is."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeconv.errors import ArtifactError
from edgeconv.runtime.artifact_info import read_sidecar, sidecar_path

SCHEMA_VERSION = 1


@dataclass
class Artifact:
    """One exported model file and its JSON sidecar (``<file>.json``)."""

    path: str
    sha256: str
    format: str
    precision: str
    size_bytes: int
    files: list[str]
    model: dict[str, Any]  # name, width, resolution, num_classes, params, macs
    weights: dict[str, Any]  # source ("random-init" or "checkpoint"), checkpoint path and sha256
    input: dict[str, Any]  # name, shape, dtype, layout
    output: dict[str, Any]  # name, shape, dtype
    quantization: dict[str, Any] | None
    parity: dict[str, Any]  # measured right after export against the PyTorch model
    tools: dict[str, str]  # package versions used to export
    created_at: str
    export_seconds: float
    preprocessing: dict[str, Any] | None = None  # how to prepare images (runtime.preprocess.Preprocessing)
    dataset: dict[str, Any] | None = None  # what the weights were trained on, and its held-out split
    class_names: list[str] | None = None
    calibration: dict[str, Any] | None = None  # the images int8 ranges were calibrated on
    accuracy: dict[str, Any] | None = None  # the int8 accuracy gate: float vs artifact top-1, agreement
    details: dict[str, Any] = field(default_factory=dict)  # format-specific facts (opset, ...)
    schema_version: int = SCHEMA_VERSION

    @property
    def sidecar(self) -> Path:
        return sidecar_path(Path(self.path))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> Artifact:
        """Read the record of the artifact at ``path`` from its sidecar."""
        data = read_sidecar(Path(path))
        if data is None:
            raise ArtifactError(f"{Path(path).name} has no sidecar {sidecar_path(Path(path)).name}")
        known = set(cls.__dataclass_fields__)
        record = {k: v for k, v in data.items() if k in known}
        record["path"] = str(Path(path).resolve())  # the file may have been moved since export
        return cls(**record)
