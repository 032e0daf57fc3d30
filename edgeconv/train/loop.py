"""``fit()``: train or fine-tune a model, keep the best checkpoint by validation accuracy."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgeconv.atomic import write_json
from edgeconv.checkpoint import save_checkpoint
from edgeconv.data import DataSplits, ImageSet
from edgeconv.metrics import topk_accuracy
from edgeconv.models.factory import model_config, model_stem
from edgeconv.staging import recover
from edgeconv.train.batches import BatchMaker
from edgeconv.train.config import TrainConfig
from edgeconv.train.recipe import lr_factor, phase_of, start_phase, train_mode

# (epoch, step, steps per epoch, running loss, running accuracy)
StepHook = Callable[[int, int, int, float, float], None]
EpochHook = Callable[[dict[str, Any]], None]


@dataclass
class TrainResult:
    """Where the best checkpoint is and how training went."""

    checkpoint: Path
    best: dict[str, Any]  # epoch, val_top1, val_top5, val_loss
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def predict(model: nn.Module, images: ImageSet, maker: BatchMaker, batch_size: int = 256) -> np.ndarray:
    """Logits of ``model`` (eval mode, no augmentation) for every image of ``images``."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for x, _ in maker.batches(images, batch_size):
            outputs.append(model(x).numpy())
    return np.concatenate(outputs)


def _schedule(phase: str, total: int, warmup: int) -> Callable[[int], float]:
    """The learning-rate factor per step of a phase: the short head phase at the full rate throughout, the others
    warmed up and then decayed (``lr_factor``)."""
    if phase == "head":
        return lambda _step: 1.0
    return lambda step: lr_factor(step, total, warmup)


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al.'s soft-target loss: KL(teacher || student) at ``temperature``, scaled by T^2."""
    log_p = F.log_softmax(student / temperature, dim=1)
    q = F.softmax(teacher / temperature, dim=1)
    return F.kl_div(log_p, q, reduction="batchmean") * temperature**2


def fit(
    model: nn.Module,
    data: DataSplits,
    config: TrainConfig,
    out_dir: str | Path,
    teacher: nn.Module | None = None,
    meta: dict[str, Any] | None = None,
    on_step: StepHook | None = None,
    on_epoch: EpochHook | None = None,
    pretrained: bool = False,
) -> TrainResult:
    """Train ``model`` on ``data.train``; after each epoch evaluate on ``data.val`` and save the best checkpoint.

    ``teacher`` (a trained model with the same classes) adds knowledge distillation with weight
    ``config.kd_alpha``. ``meta`` is stored in the checkpoint next to the training record. ``pretrained``
    weights are fine-tuned by the transfer recipe (``edgeconv.train.recipe``): the head alone for
    ``config.head_epochs``, then everything with the backbone at ``config.backbone_lr_scale`` of the rate.
    """
    config_model = model_config(model)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    maker = BatchMaker(data.preprocessing)
    steps_per_epoch = max(1, len(data.train) // config.batch_size + (len(data.train) % config.batch_size > 1))
    phase, optimizer, schedule = "", None, None
    if teacher is not None:
        teacher.eval()
    out_dir = Path(out_dir)
    recover(out_dir)  # temporary files of a killed training run
    checkpoint = out_dir / f"{model_stem(config_model)}.pt"
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"val_top1": -1.0}
    started = time.perf_counter()

    for epoch in range(1, config.epochs + 1):
        if phase_of(epoch, config, pretrained) != phase:
            phase = phase_of(epoch, config, pretrained)
            optimizer = start_phase(model, config, phase)
            epochs_left = config.epochs - epoch + 1
            total, warmup = steps_per_epoch * epochs_left, round(config.warmup_epochs * steps_per_epoch)
            schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(phase, total, warmup))
        assert optimizer is not None and schedule is not None
        train_mode(model, phase)
        seen, loss_sum, correct = 0, 0.0, 0
        batches = maker.batches(data.train, config.batch_size, generator, config.augment, config.hflip)
        for step, (x, y) in enumerate(batches):
            if len(y) < 2:  # BatchNorm cannot train on a single image
                continue
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
            if teacher is not None:
                with torch.no_grad():
                    soft = teacher(x)
                kd = distillation_loss(logits, soft, config.kd_temperature)
                loss = (1 - config.kd_alpha) * loss + config.kd_alpha * kd
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            seen += len(y)
            loss_sum += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
            if on_step:
                on_step(epoch, step + 1, steps_per_epoch, loss_sum / seen, correct / seen)
        logits_val = predict(model, data.val, maker)
        val_loss = float(F.cross_entropy(torch.from_numpy(logits_val), torch.from_numpy(data.val.labels)))
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / max(1, seen),
            "train_top1": correct / max(1, seen),
            "val_loss": val_loss,
            "val_top1": topk_accuracy(logits_val, data.val.labels, 1),
            "val_top5": topk_accuracy(logits_val, data.val.labels, 5),
            "lr": optimizer.param_groups[-1]["lr"],
            "phase": phase,
            "seconds": round(time.perf_counter() - started, 2),
        }
        history.append(record)
        if record["val_top1"] > best["val_top1"]:
            best = {k: record[k] for k in ("epoch", "val_top1", "val_top5", "val_loss")}
            save_checkpoint(checkpoint, model, _checkpoint_meta(data, config, best, meta))
        if on_epoch:
            on_epoch(record)
    seconds = time.perf_counter() - started
    write_json(
        checkpoint.with_suffix(".train.json"),
        {"best": best, "history": history, "seconds": seconds, "config": config.to_dict()},
    )
    return TrainResult(checkpoint, best, history, seconds)


def _checkpoint_meta(
    data: DataSplits, config: TrainConfig, best: dict[str, Any], meta: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "class_names": data.class_names,
        "preprocessing": data.preprocessing.to_dict(),
        "dataset": {**data.source, "num_train": len(data.train), "num_val": len(data.val)},
        "metrics": best,
        "train_config": config.to_dict(),
        "versions": {p: metadata.version(p) for p in ("edgeconv", "torch")},
        **(meta or {}),
    }
