"""``Trainer``: how a sweep turns a finalist into a checkpoint. The sweep passes one in; ``FitTrainer`` is
edgeconv's own training (``edgeconv.train.fit`` with a ``TrainConfig``, from pretrained weights if given)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from torch import nn

from edgeconv.data import DataSplits
from edgeconv.models.factory import model_config
from edgeconv.models.published import weights_for
from edgeconv.train import TrainConfig, fit
from edgeconv.train.transfer import initialise_for

Log = Callable[[str], None]


class Trainer(Protocol):
    """Trains ``net`` on ``data`` into ``run_dir`` (distilled from ``teacher`` if given); returns the checkpoint
    (``run_dir/<stem>.pt``, with its ``<stem>.train.json`` record beside it)."""

    def __call__(self, net: nn.Module, data: DataSplits, run_dir: Path, teacher: nn.Module | None, log: Log) -> Path:
        """Train and return the checkpoint's path."""
        ...


@dataclass(frozen=True)
class FitTrainer:
    """edgeconv's training recipe, from random or pretrained initialisation (``weights``: the ``--weights``
    text, one source or ``FAMILY=SOURCE`` entries), fine-tuned by the transfer recipe when pretrained."""

    config: TrainConfig = field(default_factory=TrainConfig)
    weights: str | None = None

    def __call__(self, net: nn.Module, data: DataSplits, run_dir: Path, teacher: nn.Module | None, log: Log) -> Path:
        """Fit ``net`` and return its best checkpoint."""
        init = initialise_for(net, weights_for(self.weights, model_config(net)["model"]), data, log)
        result = fit(net, data, self.config, run_dir, teacher, {"init": init}, pretrained=init["origin"] != "scratch")
        log(f"val top-1 {result.best['val_top1']:.2%} in {result.seconds:.0f} s")
        return result.checkpoint
