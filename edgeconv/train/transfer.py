"""A network's initial weights from ``--weights``: published weights by name (downloaded into the torch hub
cache), or a local file; at the network's own width, or derived from a wider one of the same family.

A derived network keeps, in every channel space, the channels the wider network relies on most
(``edgeconv.models.derive``), its channel-mixing layers are refitted to the wider network's outputs on the user's
training images (``edgeconv.models.reconstruct``), then its BatchNorm statistics are recomputed on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgeconv.data import DataSplits
from edgeconv.errors import UsageError
from edgeconv.models.derive import CRITERIA, derive_weights, recalibrate_batchnorm
from edgeconv.models.factory import create_model, model_config, shape_only_model
from edgeconv.models.published import choose_weights
from edgeconv.models.registry import get_spec
from edgeconv.train.batches import batches as in_order
from edgeconv.train.hub import fetch
from edgeconv.train.pretrained import learnable_shapes, load_pretrained, read_weights

Log = Callable[[str], None]
Calibration = Callable[[], Iterable[torch.Tensor]]
CALIBRATION_IMAGES = 1024  # BatchNorm statistics settle within a few hundred images
# each refitted layer runs both networks over them again. Measured (MobileNetV2 0.35 -> 0.25 on the digits, no
# gradient step): 29% top-1 copied, 61% refitted on 256 images, 74% on all 1438
RECONSTRUCTION_IMAGES = 512
SCRATCH = {"origin": "scratch", "source": "random-init"}


def training_images(data: DataSplits, limit: int = CALIBRATION_IMAGES) -> Calibration:
    """Batches of up to ``limit`` training images, prepared as training sees them but not augmented."""

    def batches() -> Iterable[torch.Tensor]:
        first = data.train.subset(np.arange(min(limit, len(data.train))))
        for x, _ in in_order(first, data.preprocessing, 64):
            yield x

    return batches


def reconstruction_images(calibration: Calibration, limit: int = RECONSTRUCTION_IMAGES) -> Calibration:
    """The first ``limit`` images of ``calibration``'s batches."""

    def batches() -> Iterable[torch.Tensor]:
        left = limit
        for batch in calibration():
            if left <= 0:
                return
            yield batch[:left]
            left -= len(batch)

    return batches


def file_width(path: Path, family: str, width: float, num_classes: int) -> float | None:
    """The width the weights in ``path`` were trained at: an edgeconv checkpoint records it; for other files,
    the narrowest of ``width``, the family's published widths and 1.0 whose tensor shapes (the classifier head
    aside) are the file's. None when none fits (then loading names the first tensor that does not)."""
    if not path.is_file():
        return None
    state, config, _ = read_weights(path)
    if config is not None:
        if config.get("model") != family:
            raise UsageError(f"{path.name} holds {config.get('model')} weights, not {family}")
        return float(config["width"])
    theirs = learnable_shapes(state)[:-2]
    candidates = sorted({width, 1.0, *(e.width for e in get_spec(family).weights)})
    for candidate in (w for w in candidates if w >= width - 1e-9):
        mine = learnable_shapes(shape_only_model(family, candidate, num_classes).state_dict())[:-2]
        if mine == theirs:
            return candidate
    return None


def initialise_for(net: nn.Module, weights: str | None, data: DataSplits, log: Log | None = None) -> dict[str, Any]:
    """:func:`initialise` with the BatchNorm recalibration on ``data``'s training images; random weights
    (``SCRATCH``) when ``weights`` is None."""
    return initialise(net, weights, training_images(data), log) if weights else dict(SCRATCH)


def initialise(
    net: nn.Module,
    weights: str,
    calibration: Calibration | None = None,
    log: Log | None = None,
    criterion: str = CRITERIA[0],
    refit: bool = True,
) -> dict[str, Any]:
    """Load ``weights`` into ``net`` (built by ``create_model``), deriving them from a wider width when the
    weights are wider; returns the record that the checkpoint and the artifact sidecars keep under ``init``.

    ``calibration`` yields batches of prepared training images for the BatchNorm recalibration of a derived
    network (without it, the wider network's statistics are kept) and, with ``refit``, for refitting its
    channel-mixing layers on the first ``RECONSTRUCTION_IMAGES`` of them."""
    config = model_config(net)
    family, width = config["model"], float(config["width"])
    choice = choose_weights(weights, family, width, get_spec(family).weights)
    record: dict[str, Any] = {"weights": weights}
    if choice.published is not None:
        entry = choice.published
        path, layout = fetch(entry, log), entry.layout
        source_width: float | None = entry.width
        record |= {"source": entry.tag, "url": entry.url, "published_width": entry.width}
    else:
        path = choice.path or Path(weights)
        source_width, layout = file_width(path, family, width, config["num_classes"]), None
        record |= {"source": "file"}
    if source_width is not None and source_width < width - 1e-9:
        raise UsageError(f"{path.name} is {family} width {source_width:g}, narrower than width {width:g}")
    if source_width is None or abs(source_width - width) < 1e-9:
        report = load_pretrained(net, path, layout)
        origin = "published" if choice.published else "file"
        return {**record, "origin": origin, "width": width, **report.to_dict()}
    source = create_model(family, source_width, config["num_classes"], config["resolution"], seed=0)
    report = load_pretrained(source, path, layout)
    ranking_images = calibration() if calibration is not None and criterion == "activation" else None
    refit_on = reconstruction_images(calibration) if calibration is not None and refit else None
    derivation = derive_weights(source, net, family, criterion, ranking_images, refit_on)
    seen = recalibrate_batchnorm(net, calibration()) if calibration is not None else 0
    if log:
        refitted = derivation.get("reconstructed_layers")
        log(
            f"derived width {width:g} from {source_width:g} ({derivation['criterion']}, "
            f"{derivation['narrowed']} of {derivation['channel_spaces']} channel spaces narrowed"
            + (f", {refitted} layers refitted" if refitted is not None else "")
            + (f", BatchNorm recalibrated on {seen} images)" if seen else ")")
        )
    return {
        **record,
        "origin": "derived",
        "width": width,
        "derived_from_width": source_width,
        "derivation": derivation,
        "batchnorm_recalibrated_on": seen,
        **report.to_dict(),
    }
