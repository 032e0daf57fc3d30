"""Training settings: a small-model recipe that works from scratch on small datasets and for fine-tuning."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from edgeconv.errors import UsageError

OPTIMIZERS = ("adamw", "sgd", "rmsprop")
SCHEDULES = ("cosine", "plateau")
AUGMENTS = ("auto", "light", "standard", "none")
DEFAULT_LR = {"adamw": 3e-3, "sgd": 0.1, "rmsprop": 0.01}
DEFAULT_DECAY = {"adamw": 0.05, "sgd": 4e-5, "rmsprop": 1e-5}


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (recorded in the checkpoint)."""

    # metadata: the option every command that trains declares for the field (edgeconv.cli.options.train_options)
    epochs: int = field(default=15, metadata={"flag": "--epochs", "short": "-e", "min": 1, "help": "Training epochs."})
    batch_size: int = field(default=64, metadata={"flag": "--batch-size", "min": 2, "help": "Images per step."})
    optimizer: str = field(
        default="adamw",
        metadata={
            "flag": "--optimizer",
            "choices": OPTIMIZERS,
            "help": "AdamW; SGD with Nesterov momentum 0.9; or RMSProp (decay 0.9, momentum 0.9, eps 1e-3, the "
            "MobileNet/EfficientNet recipe).",
        },
    )
    lr: float | None = field(
        default=None,
        metadata={
            "flag": "--lr",
            "min": 0,
            "min_open": True,
            "help": "Peak learning rate. [default: 3e-3 AdamW, 0.1 SGD, 0.01 RMSProp]",
        },
    )
    weight_decay: float | None = field(
        default=None,
        metadata={"flag": "--weight-decay", "min": 0, "help": "[default: 0.05 AdamW, 4e-5 SGD, 1e-5 RMSProp]"},
    )
    warmup_epochs: float = field(
        default=1.0, metadata={"flag": "--warmup-epochs", "min": 0, "help": "Linear warm-up, then the schedule."}
    )
    schedule: str = field(
        default="cosine",
        metadata={
            "flag": "--schedule",
            "choices": SCHEDULES,
            "help": "cosine: decay to 0 at the last epoch; plateau: divide the rate by 10 when the held-out loss "
            "has not improved for 2 epochs.",
        },
    )
    label_smoothing: float = field(
        default=0.1,
        metadata={
            "flag": "--label-smoothing",
            "min": 0,
            "max": 1,
            "max_open": True,
            "help": "Label smoothing of the loss.",
        },
    )
    augment: str = field(
        default="auto",
        metadata={
            "flag": "--augment",
            "choices": AUGMENTS,
            "help": "light: zoom and shift; standard: random-resized crop, horizontal flip, colour jitter; none. "
            "auto: light for the built-in digits, standard for image folders.",
        },
    )
    amp: bool = field(
        default=True,
        metadata={"flag": "--amp/--no-amp", "help": "Mixed precision on CUDA (bf16, or fp16 with a loss scaler)."},
    )
    kd_alpha: float = field(
        default=0.5, metadata={"flag": "--kd-alpha", "min": 0, "max": 1, "help": "Weight of the distillation loss."}
    )
    kd_temperature: float = field(
        default=4.0,
        metadata={"flag": "--kd-temperature", "min": 0, "min_open": True, "help": "Distillation temperature."},
    )
    head_epochs: int = field(
        default=1,
        metadata={
            "flag": "--head-epochs",
            "min": 0,
            "help": "With pretrained --weights: the first epochs train the new classifier head alone (none when "
            "the weights were trained on the data's classes: they fine-tune at a third of the rate then).",
        },
    )
    backbone_lr_scale: float = field(
        default=1.0,  # measured: 0.1 cost EfficientNet-lite0 33 points of top-1 from ImageNet to few-shot digits
        metadata={
            "flag": "--backbone-lr-scale",
            "min": 0,
            "max": 1,
            "help": "With pretrained --weights: the backbone's learning rate as a fraction of the head's "
            "(below 1 for data close to the pretraining data).",
        },
    )
    seed: int = field(default=0, metadata={"flag": "--seed", "help": "Seeds the initialisation, split and order."})

    def __post_init__(self) -> None:
        for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("augment", AUGMENTS)):
            if getattr(self, name) not in choices:
                raise UsageError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise UsageError("epochs and batch size must be >= 1")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise UsageError(f"{name} must be a finite number >= 0, got {value}")
        if self.head_epochs < 0 or not 0 <= self.backbone_lr_scale <= 1:
            raise UsageError("head epochs must be >= 0 and the backbone learning-rate scale in [0, 1]")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.kd_alpha <= 1 or self.kd_temperature <= 0:
            raise UsageError("label smoothing must be in [0, 1), kd alpha in [0, 1] and kd temperature > 0")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def decay(self) -> float:
        return self.weight_decay if self.weight_decay is not None else DEFAULT_DECAY[self.optimizer]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lr": self.learning_rate, "weight_decay": self.decay}
