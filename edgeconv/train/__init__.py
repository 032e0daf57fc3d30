"""Training and fine-tuning: a small-model recipe, pretrained weights from local files, distillation.

``TrainConfig`` is torch-free (commands declare their options from it, on the device side too); the rest
imports torch, on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from edgeconv.train.config import TrainConfig

if TYPE_CHECKING:
    from edgeconv.train.loop import TrainResult, fit, predict
    from edgeconv.train.pretrained import LoadReport, load_pretrained

_LAZY = {name: "loop" for name in ("TrainResult", "fit", "predict")}
_LAZY |= {name: "pretrained" for name in ("LoadReport", "load_pretrained")}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'edgeconv.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"edgeconv.train.{_LAZY[name]}"), name)


__all__ = ["LoadReport", "TrainConfig", "TrainResult", "fit", "load_pretrained", "predict"]
