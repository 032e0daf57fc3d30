"""Training settings: a small-model recipe that works from scratch on small datasets and for fine-tuning."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from edgeconv.errors import UsageError

OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (recorded in the checkpoint)."""

    epochs: int = 15
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float | None = None  # default: 3e-3 for AdamW, 0.1 for SGD (at batch 64)
    weight_decay: float | None = None  # default: 0.05 for AdamW, 4e-5 for SGD
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    augment: bool = True
    hflip: bool = False
    kd_alpha: float = 0.7
    kd_temperature: float = 4.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise UsageError("epochs and batch size must be >= 1")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise UsageError(f"{name} must be a finite number >= 0, got {value}")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.kd_alpha <= 1 or self.kd_temperature <= 0:
            raise UsageError("label smoothing must be in [0, 1), kd alpha in [0, 1] and kd temperature > 0")

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return 3e-3 if self.optimizer == "adamw" else 0.1

    @property
    def decay(self) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return 0.05 if self.optimizer == "adamw" else 4e-5

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lr": self.learning_rate, "weight_decay": self.decay}
