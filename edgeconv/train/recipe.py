"""The optimiser of each training phase. From scratch: one phase. From pretrained weights (transfer): first the
new classifier head alone, the backbone frozen with its BatchNorm statistics kept (a frozen layer in train mode
would still overwrite its running statistics from the new images), then the whole network with the backbone at a
lower learning rate than the head, so that the pretrained features are adjusted rather than overwritten.
Weights that already classify the very classes of the data (an edgeconv checkpoint trained on them, or a width
derived from one) have no new head to train: the whole network is fine-tuned at once, at a third of the rate."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from edgeconv.train.config import TrainConfig
from edgeconv.train.pretrained import head_module

PHASES = ("head", "full", "scratch")
PLATEAU_PATIENCE = 2
# measured 2026-12-07 (MobileNetV2 0.75 derived from its width 1.0 fine-tuned for 12 epochs, 20 MNIST digits a
# class, 3 seeds, AMX Xeon):
# AdamW at 3e-3 after a head epoch took the refitted start from 65.7% to 65.0%; at 1e-3 without it, to 75.9%
ON_TASK_LR_SCALE = 1 / 3


def recipe_for(
    config: TrainConfig, init: dict[str, Any], class_names: list[str], log: Callable[[str], None] | None = None
) -> tuple[TrainConfig, bool]:
    """The recipe to fit weights initialised as ``init`` (:func:`edgeconv.train.transfer.initialise`'s record)
    on data of ``class_names``, and whether it is a transfer (pretrained weights). Weights trained on these very
    classes skip the head phase and, unless ``config.lr`` was set, train at ``ON_TASK_LR_SCALE`` of the rate."""
    pretrained = init.get("origin", "scratch") != "scratch"
    if not pretrained or init.get("trained_on") != list(class_names):
        return config, pretrained
    tuned = replace(
        config, head_epochs=0, lr=config.lr if config.lr is not None else config.learning_rate * ON_TASK_LR_SCALE
    )
    if log:
        log(f"the weights were trained on these classes: no head phase, learning rate {tuned.learning_rate:.2g}")
    return tuned, pretrained


def phase_of(epoch: int, config: TrainConfig, pretrained: bool) -> str:
    """``head`` for the first ``config.head_epochs`` epochs of a transfer, then ``full``; ``scratch`` otherwise."""
    if not pretrained:
        return "scratch"
    return "head" if epoch <= min(config.head_epochs, config.epochs - 1) else "full"


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _head_ids(model: nn.Module) -> set[int]:
    head = head_module(model)
    return {id(p) for p in head.parameters()} if head is not None else set()


def _groups(params: list[nn.Parameter], lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """No weight decay on BatchNorm parameters and biases (the standard recipe for small networks)."""
    return [
        {"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay, "lr": lr},
        {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0, "lr": lr},
    ]


def start_phase(model: nn.Module, config: TrainConfig, phase: str) -> torch.optim.Optimizer:
    """Freeze or unfreeze the backbone for ``phase`` and return the phase's optimiser."""
    head = _head_ids(model)
    lr = config.learning_rate
    for p in model.parameters():
        p.requires_grad_(phase != "head" or id(p) in head)
    if phase == "head":
        groups = _groups([p for p in model.parameters() if id(p) in head], lr, config.decay)
    elif phase == "full":
        backbone = [p for p in model.parameters() if id(p) not in head]
        groups = _groups(backbone, lr * config.backbone_lr_scale, config.decay)
        groups += _groups([p for p in model.parameters() if id(p) in head], lr, config.decay)
    else:
        groups = _groups(list(model.parameters()), lr, config.decay)
    groups = [g for g in groups if g["params"]]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    if config.optimizer == "rmsprop":  # the MobileNet/EfficientNet recipe: decay 0.9, momentum 0.9, eps 1e-3
        return torch.optim.RMSprop(groups, lr=lr, alpha=0.9, eps=1e-3, momentum=0.9)
    return torch.optim.AdamW(groups, lr=lr)


class Schedule:
    """The learning rate over one phase: the head phase at the full rate throughout; the others warmed up
    linearly over ``config.warmup_epochs``, then either decayed by a cosine to 0 at the end (``cosine``) or
    held and divided by 10 whenever the held-out loss has not improved for ``PLATEAU_PATIENCE`` epochs
    (``plateau``, PyTorch's ``ReduceLROnPlateau``)."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, config: TrainConfig, phase: str, steps_per_epoch: int, epochs: int
    ) -> None:
        total, warmup = steps_per_epoch * epochs, round(config.warmup_epochs * steps_per_epoch)
        self.kind = "constant" if phase == "head" else config.schedule
        self.warmup, self.steps = warmup, 0

        def factor(step: int) -> float:
            if self.kind == "constant":
                return 1.0
            if self.kind == "plateau":
                return min(1.0, (step + 1) / warmup) if warmup else 1.0
            return lr_factor(step, total, warmup)

        self.per_step = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        self.plateau = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=PLATEAU_PATIENCE)
            if self.kind == "plateau"
            else None
        )

    def step(self) -> None:
        """After each optimiser step (the plateau schedule's warm-up only: then the plateau sets the rate)."""
        if self.plateau is None or self.steps < self.warmup:
            self.per_step.step()
        self.steps += 1

    def epoch_done(self, val_loss: float) -> None:
        """After each epoch's evaluation."""
        if self.plateau is not None and self.steps >= self.warmup:
            self.plateau.step(val_loss)


def train_mode(model: nn.Module, phase: str) -> None:
    """Train mode, except the frozen backbone of the head phase: its BatchNorms keep their statistics."""
    model.train()
    if phase == "head":
        head = head_module(model)
        for module in model.modules():
            if module is not head and isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
