"""edgeconv checkpoints: the state dict plus the model configuration needed to rebuild it, saved atomically."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgeconv.atomic import atomic_path, sha256_files
from edgeconv.errors import ArtifactError, EdgeconvError, first_line
from edgeconv.models import create_model
from edgeconv.models.factory import model_config

CHECKPOINT_FORMAT = "edgeconv-checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict[str, Any] | None = None) -> Path:
    """Save ``model`` (built by :func:`create_model`) with its configuration and ``meta`` to ``path``; the tensors
    are saved from the CPU, so that a checkpoint trained on a GPU loads anywhere."""
    config = model_config(model)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": dict(config),
        "state_dict": {name: value.detach().cpu() for name, value in model.state_dict().items()},
        "meta": meta or {},
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw payload of an edgeconv checkpoint, validated; bad files raise :class:`ArtifactError`."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"no such checkpoint: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises zipfile, pickle and runtime errors for damaged files
        raise ArtifactError(f"{path.name} is not a readable PyTorch checkpoint: {first_line(exc)}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ArtifactError(f"{path.name} is not an edgeconv checkpoint (no {CHECKPOINT_FORMAT!r} header)")
    if payload.get("version", 0) > CHECKPOINT_VERSION:
        raise ArtifactError(f"{path.name} was written by a newer edgeconv (version {payload['version']})")
    return payload


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved at ``path``; returns ``(model in eval mode, meta)``."""
    payload = read_checkpoint(path)
    config: Any = payload.get("config")
    state: Any = payload.get("state_dict")
    if not _valid_config(config):
        raise ArtifactError(f"{Path(path).name} has no valid model configuration (model, width, classes, resolution)")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ArtifactError(f"{Path(path).name} holds no state dict of tensors")
    try:
        model = create_model(config["model"], config["width"], config["num_classes"], config["resolution"])
    except EdgeconvError as exc:
        raise ArtifactError(f"{Path(path).name}: {exc}") from None
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # tensors of other shapes
        reason = next((line.strip() for line in str(exc).splitlines() if "size mismatch" in line), str(exc))
        raise ArtifactError(
            f"{Path(path).name} does not fit {config['model']} width {config['width']:g}: {reason}"
        ) from None
    if missing or unexpected:
        first = (missing or unexpected)[0]
        raise ArtifactError(
            f"{Path(path).name} does not fit {config['model']} width {config['width']:g}: "
            f"tensor {first!r} is {'missing' if missing else 'unexpected'}"
        )
    return model.eval(), payload.get("meta", {})


def _valid_config(config: Any) -> bool:
    if not isinstance(config, dict) or not isinstance(config.get("model"), str):
        return False
    width, classes, resolution = (config.get(key) for key in ("width", "num_classes", "resolution"))
    if not isinstance(width, (int, float)) or isinstance(width, bool) or not math.isfinite(width):
        return False
    return all(isinstance(n, int) and not isinstance(n, bool) for n in (classes, resolution))


def weights_record(path: str | Path, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """How the sidecar of an export records weights loaded from the checkpoint at ``path`` (with ``meta``'s
    ``init``: where training started from, e.g. the published file, its URL and hash)."""
    record = {"source": "checkpoint", "path": str(Path(path).resolve()), "sha256": sha256_files(path)}
    init = (meta or {}).get("init")
    return record | {"init": init} if init else record
