"""Accuracy of checkpoints and exported artifacts on held-out data, and agreement with PyTorch.

Checkpoints run in PyTorch; artifacts run through ``edgeconv.runtime``, the code path a device uses, with
the preprocessing recorded in their sidecar. An artifact exported from a checkpoint is compared with that
checkpoint on the same images: top-1 agreement and logit error.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.atomic import sha256_files
from edgeconv.data import DataSplits, ImageFiles, ImageSet, load_data_like
from edgeconv.errors import ArtifactError, require
from edgeconv.metrics import agreement, confusion_matrix, topk_accuracy
from edgeconv.runtime.artifact_info import artifact_sha256, read_sidecar
from edgeconv.runtime.device import device_info
from edgeconv.runtime.preprocess import Preprocessing

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


@dataclass
class EvalResult:
    """Accuracy of one checkpoint or artifact on the held-out split of a dataset."""

    target: str
    kind: str  # "checkpoint" or "artifact"
    sha256: str
    model: dict[str, Any]
    format: str
    precision: str
    dataset: dict[str, Any]
    num_images: int
    top1: float
    top5: float
    class_names: list[str]
    confusion: list[list[int]]
    agreement: dict[str, Any] | None  # vs the PyTorch checkpoint the artifact came from
    seconds: float
    timestamp: str
    device: dict[str, Any] | None = None  # where the model ran (its fingerprint)
    workstation_agreement: dict[str, Any] | None = None  # a board's predictions vs this machine's runtime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DataCache:
    """Loads each (dataset, resolution) once when several targets are evaluated together (``load``: image
    folders in memory or streamed), and says where checkpoints run (``device``, ``workers``:
    ``edgeconv.train.devices``)."""

    def __init__(self, data: str | None, load: str = "auto", device: str = "auto", workers: int | None = None) -> None:
        self.data, self.load, self.device, self.workers = data, load, device, workers
        self._cache: dict[tuple[str, int], DataSplits] = {}

    def get(self, source: dict[str, Any] | None, preprocessing: Preprocessing) -> DataSplits:
        key = (repr(self.data or source), preprocessing.resolution)
        if key not in self._cache:
            self._cache[key] = load_data_like(self.data, source, preprocessing, self.load)
        return self._cache[key]


def _metrics(logits: np.ndarray, val: ImageSet) -> dict[str, Any]:
    predicted = logits.argmax(1)
    return {
        "top1": topk_accuracy(logits, val.labels, 1),
        "top5": topk_accuracy(logits, val.labels, 5),
        "confusion": confusion_matrix(predicted, val.labels, len(val.class_names)).tolist(),
    }


def _checkpoint_logits(path: Path, cache: DataCache) -> tuple[np.ndarray, DataSplits, dict[str, Any]]:
    require("torch", "host", "evaluating a PyTorch checkpoint")
    from edgeconv.checkpoint import load_checkpoint
    from edgeconv.models.factory import model_config
    from edgeconv.train import predict
    from edgeconv.train.batches import default_workers
    from edgeconv.train.devices import placement

    model, meta = load_checkpoint(path)
    config = model_config(model)
    preprocessing = Preprocessing.from_dict(meta.get("preprocessing") or {"resolution": config["resolution"]})
    data = cache.get(meta.get("dataset"), preprocessing)
    workers = default_workers(data.val) if cache.workers is None else cache.workers
    place = placement(cache.device, amp=False)
    logits = predict(place.move(model), data.val, data.preprocessing, workers=workers, place=place)
    return logits, data, config


def artifact_logits(path: Path, images: np.ndarray | ImageFiles, preprocessing: Preprocessing) -> np.ndarray:
    """Logits of the artifact at ``path`` for prepared uint8 images, one image per run (batch-1 artifacts)."""
    from edgeconv.runtime import load

    session = load(path, threads=None)
    layout = preprocessing.with_layout(session.input_layout())
    return np.concatenate([session.run_float(layout.normalize(image)) for image in images])


def _agreement(
    path: Path, logits: np.ndarray, reference: str | Path | None, weights: dict[str, Any], cache: DataCache
) -> dict[str, Any] | None:
    """Agreement with the PyTorch checkpoint: ``reference``, else the one the artifact was exported from.
    On a device without torch the implicit comparison is skipped (an explicit ``reference`` needs torch)."""
    implicit = weights.get("path") if weights.get("source") == "checkpoint" else None
    checkpoint = reference or implicit
    if not checkpoint:
        return None
    if reference is None and importlib.util.find_spec("torch") is None:
        return {"skipped": "torch is not installed: no comparison with the PyTorch checkpoint"}
    if not Path(checkpoint).is_file():
        if reference is None:
            return {"skipped": f"the checkpoint it was exported from, {checkpoint}, is not here"}
        raise ArtifactError(f"reference checkpoint {checkpoint} does not exist")
    ref_logits, _, _ = _checkpoint_logits(Path(checkpoint), cache)
    return {**agreement(ref_logits, logits), "reference": str(checkpoint)}


# (artifact, prepared images, preprocessing) -> (logits, fingerprint of the device that computed them)
BoardRunner = Callable[[Path, np.ndarray, Preprocessing], tuple[np.ndarray, dict[str, Any]]]


def evaluate(
    path: str | Path, cache: DataCache, reference: str | Path | None = None, board: BoardRunner | None = None
) -> EvalResult:
    """Evaluate one checkpoint or artifact; ``reference`` overrides the checkpoint an artifact is compared to.
    With ``board`` (e.g. ``SshTarget.logits``) an artifact runs on that device, and its predictions are also
    compared with this machine's run of the same file (int8 kernels round differently on ARM and x86)."""
    path = Path(path)
    started = time.perf_counter()
    device: dict[str, Any] | None = None
    workstation: dict[str, Any] | None = None
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        logits, data, config = _checkpoint_logits(path, cache)
        kind, fmt, precision, sha, agree = "checkpoint", "pytorch", "fp32", sha256_files(path), None
        device = device_info()
    else:
        if not path.is_file():
            raise ArtifactError(f"no such file: {path}")
        sidecar = read_sidecar(path)
        if sidecar is None:
            raise ArtifactError(
                f"{path.name} has no sidecar ({path.name}.json): edgeconv cannot tell its preprocessing"
            )
        config = sidecar["model"]
        preprocessing = Preprocessing.from_dict(sidecar.get("preprocessing") or {"resolution": config["resolution"]})
        weights = sidecar.get("weights", {})
        data = cache.get(sidecar.get("dataset"), preprocessing)
        if board is None:
            logits, device = artifact_logits(path, data.val.images, data.preprocessing), device_info()
        else:
            logits, device = board(path, np.asarray(data.val.images), data.preprocessing)
            workstation = agreement(artifact_logits(path, data.val.images, data.preprocessing), logits)
        kind, fmt, precision, sha = "artifact", sidecar["format"], sidecar["precision"], artifact_sha256(path)
        agree = _agreement(path, logits, reference, weights, cache)
    if logits.shape[1] != len(data.class_names):
        raise ArtifactError(f"{path.name} predicts {logits.shape[1]} classes but the data has {len(data.class_names)}")
    return EvalResult(
        target=str(path.resolve()),
        kind=kind,
        sha256=sha,
        model=dict(config),
        format=fmt,
        precision=precision,
        dataset={**data.source, "subset": "val", "resolution": data.preprocessing.resolution},
        num_images=len(data.val),
        class_names=data.class_names,
        agreement=agree,
        seconds=round(time.perf_counter() - started, 3),
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        device=device,
        workstation_agreement=workstation,
        **_metrics(logits, data.val),
    )
