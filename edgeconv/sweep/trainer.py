"""``Trainer``: how a sweep turns a finalist into a checkpoint. The sweep passes one in; ``FitTrainer`` is
edgeconv's own training (``edgeconv.train.fit`` with a ``TrainConfig``, from pretrained weights if given)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from torch import nn

from edgeconv.checkpoint import load_checkpoint
from edgeconv.data import DataSplits
from edgeconv.models.factory import model_config
from edgeconv.models.published import weights_for
from edgeconv.train import TrainConfig, fit
from edgeconv.train.recipe import recipe_for
from edgeconv.train.transfer import initialise_for

Log = Callable[[str], None]


class Trainer(Protocol):
    """Trains ``net`` on ``data`` into ``run_dir`` (distilled from the checkpoint ``teacher`` if given), for
    ``epochs`` instead of the configured number if given; returns the checkpoint (``run_dir/<stem>.pt``, with its
    ``<stem>.train.json`` record beside it)."""

    def __call__(
        self, net: nn.Module, data: DataSplits, run_dir: Path, teacher: Path | None, log: Log, epochs: int | None = None
    ) -> Path:
        """Train and return the checkpoint's path."""
        ...


@dataclass(frozen=True)
class FitTrainer:
    """edgeconv's training recipe, from random or pretrained initialisation (``weights``: the ``--weights``
    text, one source or ``FAMILY=SOURCE`` entries), fine-tuned by the transfer recipe when pretrained.

    A student of ``teacher`` (a wider network of its family, already fine-tuned on ``data``) starts from the
    teacher's own channels, its head included, rather than from ``weights``, and learns from its soft targets
    too unless ``config.kd_alpha`` is 0; ``benchmarks/results/transfer.md`` compares both with the other
    initialisations."""

    config: TrainConfig = field(default_factory=TrainConfig)
    weights: str | None = None
    device: str = "auto"
    workers: int | None = None

    def __call__(
        self, net: nn.Module, data: DataSplits, run_dir: Path, teacher: Path | None, log: Log, epochs: int | None = None
    ) -> Path:
        """Fit ``net`` and return its best checkpoint."""
        weights = str(teacher) if teacher is not None else weights_for(self.weights, model_config(net)["model"])
        init = initialise_for(net, weights, data, log)
        teacher_net = load_checkpoint(teacher)[0] if teacher is not None and self.config.kd_alpha > 0 else None
        meta = {"init": init, "teacher": str(teacher) if teacher is not None else None}
        config = replace(self.config, epochs=epochs) if epochs else self.config
        config, pretrained = recipe_for(config, init, data.class_names, log)
        result = fit(net, data, config, run_dir, teacher_net, meta, None, None, pretrained, self.device, self.workers)
        log(f"val top-1 {result.best['val_top1']:.2%} in {result.seconds:.0f} s")
        return result.checkpoint
