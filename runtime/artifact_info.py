"""What the device side knows about a model file: its hash and size, and its export sidecar if present."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgeconv.atomic import sha256_files
from edgeconv.errors import ArtifactError
from edgeconv.runtime.formats import format_for

SIDECAR_SUFFIX = ".json"


def sidecar_path(path: Path) -> Path:
    """The JSON sidecar that the exporters write next to an artifact: ``model.onnx`` -> ``model.onnx.json``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def artifact_files(path: Path) -> list[Path]:
    """The artifact's file and any companion files its format needs (in a fixed order)."""
    return format_for(path).files(path)


def artifact_sha256(path: Path) -> str:
    """SHA-256 over the artifact's file(s), so a changed OpenVINO .bin changes the hash too."""
    return sha256_files(*artifact_files(path))


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The export record next to ``path``, or None when there is none. A corrupt sidecar, or one that records
    another file's hash (a file replaced after export, a sidecar copied from elsewhere), is an error."""
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{sidecar.name} is not valid JSON ({exc}); delete it or re-export") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{sidecar.name} is not an edgeconv artifact record")
    recorded = data.get("sha256")
    if recorded is not None and all(f.is_file() for f in artifact_files(path)) and recorded != artifact_sha256(path):
        raise ArtifactError(
            f"{sidecar.name} describes another file (sha256 {str(recorded)[:12]}, not {path.name}'s "
            f"{artifact_sha256(path)[:12]}): delete it or re-export"
        )
    return data


def describe_artifact(path: Path) -> dict[str, Any]:
    """Hash, size, format and precision of an artifact, with the model description from its sidecar."""
    if not path.is_file():
        raise ArtifactError(f"no such model file: {path}")
    sidecar = read_sidecar(path) or {}
    files = artifact_files(path)
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ArtifactError(f"{path.name} needs {', '.join(missing)} next to it")
    return {
        "path": str(path.resolve()),
        "name": path.name,
        "sha256": artifact_sha256(path),
        "size_bytes": sum(f.stat().st_size for f in files),
        "format": sidecar.get("format", format_for(path).name),
        "precision": sidecar.get("precision", "unknown"),
        "model": sidecar.get("model"),
        "has_sidecar": bool(sidecar),
    }
