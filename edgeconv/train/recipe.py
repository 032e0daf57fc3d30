"""The optimiser of each training phase. From scratch: one phase. From pretrained weights (transfer): first the
new classifier head alone, the backbone frozen with its BatchNorm statistics kept (a frozen layer in train mode
would still overwrite its running statistics from the new images), then the whole network with the backbone at a
lower learning rate than the head, so that the pretrained features are adjusted rather than overwritten."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from edgeconv.train.config import TrainConfig
from edgeconv.train.pretrained import head_module

PHASES = ("head", "full", "scratch")


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
    return torch.optim.AdamW(groups, lr=lr)


def train_mode(model: nn.Module, phase: str) -> None:
    """Train mode, except the frozen backbone of the head phase: its BatchNorms keep their statistics."""
    model.train()
    if phase == "head":
        head = head_module(model)
        for module in model.modules():
            if module is not head and isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
