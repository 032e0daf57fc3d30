"""``fit()``: train or fine-tune a model, keep the best checkpoint by validation accuracy; ``predict()``."""

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
from edgeconv.errors import UsageError
from edgeconv.metrics import topk_accuracy
from edgeconv.models.factory import model_config, model_stem
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.staging import recover
from edgeconv.train import distributed
from edgeconv.train.augment import default_policy
from edgeconv.train.batches import Batches, default_workers, load
from edgeconv.train.config import TrainConfig
from edgeconv.train.devices import Placement, placement
from edgeconv.train.recipe import Schedule, phase_of, start_phase, train_mode

# (epoch, step, steps per epoch, running loss, running accuracy, images per second)
StepHook = Callable[[int, int, int, float, float, float], None]
EpochHook = Callable[[dict[str, Any]], None]
CPU = Placement(torch.device("cpu"), None)


@dataclass
class TrainResult:
    """Where the best checkpoint is and how training went."""

    checkpoint: Path
    best: dict[str, Any]  # epoch, val_top1, val_top5, val_loss
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def predict(
    model: nn.Module,
    images: ImageSet,
    preprocessing: Preprocessing,
    batch_size: int | None = None,
    workers: int = 0,
    place: Placement = CPU,
) -> np.ndarray:
    """Logits of ``model`` (eval mode, no augmentation) for every image of ``images``, in order, in batches of
    ``batch_size`` (default ``eval_batch``). Under torchrun each process runs its share of every batch and all of
    them return every logit."""
    model.eval()
    batch_size = batch_size or eval_batch(preprocessing.resolution)
    world = distributed.world()
    shares: list[np.ndarray | None] = []
    with torch.no_grad():
        for x, _ in load(Batches(images, preprocessing, batch_size, rank=world.rank, world=world.size), workers):
            x = x.to(place.device, non_blocking=True, memory_format=place.memory_format)
            shares.append(model(x).float().cpu().numpy() if len(x) else None)
    if world.size > 1:  # batch by batch, rank by rank: the order of the split
        every = distributed.gather(shares)
        shares = [every[rank][batch] for batch in range(len(shares)) for rank in range(world.size)]
    return np.concatenate([s for s in shares if s is not None])


def eval_batch(resolution: int) -> int:
    """Images per evaluation batch: 256 at 64 px and below, fewer as the pixels grow (20 at 224 px), so that
    evaluation's activations stay near 200 MB whatever the input size."""
    return max(8, min(256, 256 * 64 * 64 // resolution**2))


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al.'s soft-target loss: KL(teacher || student) at ``temperature``, scaled by T^2."""
    log_p = F.log_softmax(student.float() / temperature, dim=1)
    q = F.softmax(teacher.float() / temperature, dim=1)
    return F.kl_div(log_p, q, reduction="batchmean") * temperature**2


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    """One epoch as the console and the run's log show it."""
    return (
        f"epoch {record['epoch']:>3}/{epochs}: train loss {record['train_loss']:.3f} acc {record['train_top1']:.1%}"
        f" | val top-1 {record['val_top1']:.1%} top-5 {record['val_top5']:.1%} | {record['images_per_second']:.0f}"
        f" img/s | {record['seconds']:.0f} s"
    )


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
    device: str = "auto",
    workers: int | None = None,
) -> TrainResult:
    """Train ``model`` on ``data.train``; after each epoch evaluate on ``data.val`` and save the best checkpoint.

    ``teacher`` (a trained model with the same classes) adds knowledge distillation with weight
    ``config.kd_alpha``. ``meta`` is stored in the checkpoint next to the training record. ``pretrained``
    weights are fine-tuned by the transfer recipe (``edgeconv.train.recipe``): the head alone for
    ``config.head_epochs``, then everything with the backbone at ``config.backbone_lr_scale`` of the rate.
    ``device`` is auto, cpu, cuda or mps (``edgeconv.train.devices``); ``workers`` the loader processes (None:
    by the data). Under torchrun the processes train one DistributedDataParallel model
    (``edgeconv.train.distributed``); the first writes the checkpoint, the ``.train.json`` and ``.train.log``.
    """
    config_model = model_config(model)
    place = placement(device, config.amp)
    world = distributed.join(place.cuda)
    if config.batch_size % world.size:
        raise UsageError(f"batch size {config.batch_size} does not split evenly over {world.size} processes")
    torch.manual_seed(config.seed)
    policy = default_policy(data.source.get("kind")) if config.augment == "auto" else config.augment
    workers = default_workers(data.train) if workers is None else workers
    model = distributed.prepare(place.move(model), place.cuda)
    net = model
    train_set = Batches(data.train, data.preprocessing, config.batch_size, policy, config.seed, True, *world_of(world))
    steps_per_epoch = sum(len(train_set.share(b)) >= 2 for b in range(len(train_set))) or 1
    if teacher is not None:
        place.move(teacher).eval()
    scaler = torch.amp.GradScaler(place.device.type, enabled=place.autocast == torch.float16)
    out_dir = Path(out_dir)
    checkpoint = out_dir / f"{model_stem(config_model)}.pt"
    if world.leader:
        recover(out_dir)  # temporary files of a killed training run
        out_dir.mkdir(parents=True, exist_ok=True)
        checkpoint.with_suffix(".train.log").write_text("")
    phase, optimizer, schedule = "", None, None
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"val_top1": -1.0}
    started = time.perf_counter()

    for epoch in range(1, config.epochs + 1):
        if phase_of(epoch, config, pretrained) != phase:
            phase = phase_of(epoch, config, pretrained)
            optimizer = start_phase(model, config, phase)
            net = distributed.wrap(model, place.cuda)  # after freezing: DDP reduces the trained parameters only
            schedule = Schedule(optimizer, config, phase, steps_per_epoch, config.epochs - epoch + 1)
        assert optimizer is not None and schedule is not None
        train_mode(model, phase)
        train_set.set_epoch(epoch)
        seen, loss_sum, correct, epoch_started = 0, 0.0, 0, time.perf_counter()
        for step, (x, y) in enumerate(load(train_set, workers, place.cuda)):
            if len(y) < 2:  # BatchNorm cannot train on a single image
                continue
            x = x.to(place.device, non_blocking=True, memory_format=place.memory_format)
            y = y.to(place.device, non_blocking=True)
            with torch.autocast(place.device.type, place.autocast, enabled=place.autocast is not None):
                logits = net(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
                if teacher is not None:
                    with torch.no_grad():
                        soft = teacher(x)
                    kd = distillation_loss(logits, soft, config.kd_temperature)
                    loss = (1 - config.kd_alpha) * loss + config.kd_alpha * kd
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            seen += len(y)
            loss_sum += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
            if on_step and world.leader:
                rate = seen * world.size / (time.perf_counter() - epoch_started)
                on_step(epoch, step + 1, steps_per_epoch, loss_sum / seen, correct / seen, rate)
        train_seconds = time.perf_counter() - epoch_started
        seen, loss_sum, correct = (sum(v) for v in zip(*distributed.gather((seen, loss_sum, correct)), strict=True))
        logits_val = predict(model, data.val, data.preprocessing, workers=workers, place=place)
        val_loss = float(F.cross_entropy(torch.from_numpy(logits_val), torch.from_numpy(data.val.labels)))
        schedule.epoch_done(val_loss)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / max(1, seen),
            "train_top1": correct / max(1, seen),
            "val_loss": val_loss,
            "val_top1": topk_accuracy(logits_val, data.val.labels, 1),
            "val_top5": topk_accuracy(logits_val, data.val.labels, 5),
            "lr": optimizer.param_groups[-1]["lr"],
            "phase": phase,
            "images_per_second": round(seen / max(train_seconds, 1e-9), 1),
            "seconds": round(time.perf_counter() - started, 2),
        }
        history.append(record)
        if record["val_top1"] > best["val_top1"]:
            best = {k: record[k] for k in ("epoch", "val_top1", "val_top5", "val_loss")}
            if world.leader:
                save_checkpoint(checkpoint, model, _checkpoint_meta(data, config, policy, best, meta))
        if world.leader:
            with checkpoint.with_suffix(".train.log").open("a") as log:
                log.write(epoch_line(record, config.epochs) + "\n")
            if on_epoch:
                on_epoch(record)
    seconds = time.perf_counter() - started
    CPU.move(model)
    if world.leader:
        summary = {"best": best, "history": history, "seconds": seconds, "config": _recipe(config, policy, world)}
        write_json(checkpoint.with_suffix(".train.json"), summary)
    return TrainResult(checkpoint, best, history, seconds)


def world_of(world: distributed.World) -> tuple[int, int]:
    return world.rank, world.size


def _recipe(config: TrainConfig, policy: str, world: distributed.World) -> dict[str, Any]:
    return {**config.to_dict(), "augment": policy, "processes": world.size}


def _checkpoint_meta(
    data: DataSplits, config: TrainConfig, policy: str, best: dict[str, Any], meta: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "class_names": data.class_names,
        "preprocessing": data.preprocessing.to_dict(),
        "dataset": {**data.source, "num_train": len(data.train), "num_val": len(data.val)},
        "metrics": best,
        "train_config": _recipe(config, policy, distributed.world()),
        "versions": {p: metadata.version(p) for p in ("edgeconv", "torch")},
        **(meta or {}),
    }
