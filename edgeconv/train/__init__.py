"""Training and fine-tuning: a small-model recipe, pretrained weights from local files, distillation."""

from __future__ import annotations

from edgeconv.train.config import TrainConfig
from edgeconv.train.loop import TrainResult, fit, predict
from edgeconv.train.pretrained import LoadReport, load_pretrained

__all__ = ["LoadReport", "TrainConfig", "TrainResult", "fit", "load_pretrained", "predict"]
