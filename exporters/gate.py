"""The int8 accuracy gate: evaluate a staged int8 artifact on held-out images right after export, and retry
with safer recipes before failing loudly when top-1 drops more than allowed. ``export()`` runs it whenever
it is given held-out images; nothing else calls it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from edgeconv.data import ImageSet
from edgeconv.errors import EdgeconvError
from edgeconv.evaluate import artifact_logits
from edgeconv.exporters.calibration import CalibrationSet
from edgeconv.exporters.recipe import QuantRecipe, fallback_recipes
from edgeconv.metrics import agreement, topk_accuracy
from edgeconv.runtime.preprocess import Preprocessing

if TYPE_CHECKING:
    from edgeconv.exporters.artifact import Artifact

DEFAULT_MAX_DROP = 1.0  # percentage points of top-1
Accept = Callable[[Path], dict[str, Any]]  # checks a staged artifact; raises to reject it
Write = Callable[[QuantRecipe, CalibrationSet, Accept], "Artifact"]  # one gated conversion attempt


class AccuracyGateError(EdgeconvError):
    """Every recipe lost more top-1 accuracy than allowed."""


def _check_with(gate: AccuracyGate, recipe: QuantRecipe, path: Path) -> dict[str, Any]:
    return gate.check(path, recipe)


class _Rejected(EdgeconvError):
    """One recipe's artifact lost too much accuracy (the gate tries the next recipe)."""


@dataclass
class AccuracyGate:
    """Compares int8 artifacts with the PyTorch model on the held-out images ``val``."""

    model: torch.nn.Module
    val: ImageSet
    preprocessing: Preprocessing
    max_drop: float = DEFAULT_MAX_DROP
    attempts: list[dict[str, Any]] = field(default_factory=list)
    _float: np.ndarray | None = None

    def float_logits(self) -> np.ndarray:
        if self._float is None:
            with torch.no_grad():
                batches = [
                    self.model(torch.from_numpy(self.preprocessing.normalize(img))).numpy() for img in self.val.images
                ]
            self._float = np.concatenate(batches)
        return self._float

    def check(self, path: Path, recipe: QuantRecipe) -> dict[str, Any]:
        """Measure ``path``; record the attempt; raise :class:`_Rejected` when the drop exceeds the limit."""
        reference = self.float_logits()
        logits = artifact_logits(path, self.val.images, self.preprocessing)
        float_top1 = topk_accuracy(reference, self.val.labels)
        top1 = topk_accuracy(logits, self.val.labels)
        drop = round((float_top1 - top1) * 100, 3)
        record: dict[str, Any] = {
            "images": len(self.val),
            "float_top1": float_top1,
            "top1": top1,
            "drop_points": drop,
            **agreement(reference, logits),
            "recipe": recipe.to_dict(),
        }
        self.attempts.append(record)
        if drop > self.max_drop:
            raise _Rejected(f"drop {drop:.2f} points")
        return {**record, "max_drop": self.max_drop, "attempts": list(self.attempts)}


def gated(
    write: Write,
    gate: AccuracyGate,
    first: QuantRecipe,
    calibration: CalibrationSet,
    calibration_pool: CalibrationSet | None,
    format: str,
) -> Artifact:
    """Try ``first``, then more calibration data (``calibration_pool``) with the format's alternative method,
    then float first/last layers; the first attempt ``gate`` accepts is written. Raise when none stays within
    the gate's limit."""
    for attempt in fallback_recipes(first, len(calibration_pool) if calibration_pool else 0):
        calib = calibration_pool if attempt.method == "alternative" and calibration_pool is not None else calibration
        try:
            return write(attempt, calib, partial(_check_with, gate, attempt))
        except _Rejected:
            continue
    best = max(gate.attempts, key=itemgetter("top1"))
    raise AccuracyGateError(
        f"int8 {format} export loses too much accuracy: best of {len(gate.attempts)} recipes reaches top-1 "
        f"{best['top1']:.2%} against float {best['float_top1']:.2%} (drop {best['drop_points']:.2f} points, "
        f"limit --max-drop {gate.max_drop:g}); nothing was written"
    )
