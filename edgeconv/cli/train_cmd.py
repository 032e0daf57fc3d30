"""``edgeconv train``: train or fine-tune a model on an ImageFolder directory or the built-in digits."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from edgeconv.cli.common import FiniteFloatRange, err, json_flag, out, print_json
from edgeconv.cli.options import compute_options, load_option, train_config_from, train_options, weights_option
from edgeconv.errors import UsageError, require


def _teacher(path: str | None, class_names: list[str]) -> Any:
    if path is None:
        return None
    from edgeconv.checkpoint import load_checkpoint

    teacher, meta = load_checkpoint(path)
    if meta.get("class_names") and meta["class_names"] != class_names:
        raise UsageError(f"teacher {Path(path).name} was trained on other classes ({meta['class_names'][:5]}...)")
    return teacher


@click.command("train")
@click.option("--model", "-m", default=None, help="Model family (see `edgeconv models`).")
@click.option("--width", "-w", type=float, default=1.0, show_default=True, help="Width multiplier in (0, 2].")
@click.option(
    "--resolution",
    "-r",
    type=int,
    default=None,
    help="Input size. [default: 48 for digits (8x8 scans), else the family's native]",
)
@click.option(
    "--data",
    "-d",
    default="digits",
    show_default=True,
    help="'digits' (built in, no download) or an ImageFolder directory (class sub-folders, "
    "optionally under train/ and val/).",
)
@weights_option
@click.option(
    "--teacher",
    type=click.Path(dir_okay=False),
    default=None,
    help="Distil from this trained edgeconv checkpoint (e.g. a wider model); give it as --weights too to start "
    "from its channels.",
)
@click.option(
    "--val-fraction",
    type=FiniteFloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    help="Held-out fraction when the data has no val/ split.",
)
@load_option
@train_options()
@compute_options
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    default=None,
    help="Train data-parallel in this many processes on this machine (torchrun; one per GPU, or CPU processes "
    "with gloo). Under your own `torchrun --nproc-per-node N`, leave it out.",
)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="PyTorch threads. [default: all cores]")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False), default="runs/train", show_default=True)
@json_flag
def train_command(
    model: str | None,
    width: float,
    resolution: int | None,
    data: str,
    weights: str | None,
    teacher: str | None,
    val_fraction: float,
    load: str,
    device: str,
    workers: int | None,
    nproc: int | None,
    threads: int | None,
    out_dir: str,
    as_json: bool,
    **options: Any,
) -> None:
    """Train (or fine-tune) a model and keep the checkpoint with the best validation accuracy.

    Recipe: AdamW (or SGD, RMSProp), linear warm-up then cosine decay (or drops on a plateau), label
    smoothing, augmentation by the data (light for digits, standard for photos), seeded. The checkpoint records
    the model, class names, preprocessing, dataset split, recipe, metrics and versions; each epoch's line goes
    to <out>/<model>.train.log as well.

    \b
    Examples:
      edgeconv train --model mobilenetv2 --width 0.5 --data digits --epochs 15 --out runs/mnv2
      edgeconv train --model mobilenetv2 --data photos/ --device cuda --batch-size 256
      edgeconv train --model mobilenetv2 --data photos/ --nproc 4       # data-parallel, torchrun
    """
    torch = require("torch", "host", "edgeconv train")
    from edgeconv.data import DIGITS_RESOLUTION, load_data
    from edgeconv.models import create_model
    from edgeconv.models.published import describe_init
    from edgeconv.models.registry import get_spec
    from edgeconv.train import distributed, fit
    from edgeconv.train.devices import device_count, placement
    from edgeconv.train.loop import epoch_line
    from edgeconv.train.recipe import recipe_for
    from edgeconv.train.transfer import initialise_for

    if model is None:
        raise UsageError("give --model NAME (see `edgeconv models`)")
    config = train_config_from(options)
    placement(device, config.amp)  # an unavailable device fails before any data is read
    if nproc is not None and not distributed.under_torchrun():
        argv = _without_nproc(sys.argv[1:])
        raise SystemExit(distributed.launch(nproc, device_count(device), config.batch_size, argv))
    leader = int(os.environ.get("RANK", "0")) == 0
    show = err if leader else Console(quiet=True)
    if resolution is None:
        resolution = DIGITS_RESOLUTION if data == "digits" else get_spec(model).default_resolution
    net = create_model(model, width, 10, resolution)  # validates the arguments before any data is read
    if threads:
        torch.set_num_threads(threads)
    with show.status(f"loading {data}..."):
        splits = load_data(data, resolution, val_fraction, config.seed, load=load)
    net = create_model(model, width, len(splits.class_names), resolution, seed=config.seed)
    init = initialise_for(net, weights, splits, lambda line: show.print(line))
    config, pretrained = recipe_for(config, init, splits.class_names, lambda line: show.print(line))
    teacher_net = _teacher(teacher, splits.class_names)
    meta = {
        "init": init,
        "teacher": str(Path(teacher).resolve()) if teacher else None,
    }

    show.print(_data_line(data, splits))  # once every input is known good: an error is one line
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=show, transient=True) as progress:
        task = progress.add_task("epoch 1", total=None)

        def on_step(epoch: int, step: int, steps: int, loss: float, acc: float, rate: float) -> None:
            shown = f"epoch {epoch}/{config.epochs}  loss {loss:.3f}  acc {acc:.1%}  {rate:.0f} img/s"
            if step == 1:
                progress.reset(task, total=steps)
            progress.update(task, total=steps, completed=step, description=shown)

        def on_epoch(record: dict[str, Any]) -> None:
            show.print(epoch_line(record, config.epochs))

        with distributed.peers_lost_quietly():
            result = fit(
                net, splits, config, out_dir, teacher_net, meta, on_step, on_epoch, pretrained, device, workers
            )
    distributed.leave()
    if not leader:
        return
    summary: dict[str, Any] = {
        "checkpoint": str(result.checkpoint.resolve()),
        "best": result.best,
        "seconds": round(result.seconds, 1),
        "dataset": {**splits.source, "num_train": len(splits.train), "num_val": len(splits.val)},
        "init": meta["init"],
        "teacher": meta["teacher"],
    }
    if as_json:
        print_json(summary)
        return
    table = Table(show_header=False, title=f"trained {model} width {width:g} at {resolution} px")
    table.add_row("checkpoint", summary["checkpoint"])
    table.add_row(
        "data", f"{data}: {len(splits.train)} train / {len(splits.val)} val images, {len(splits.class_names)} classes"
    )
    table.add_row("best epoch", f"{result.best['epoch']} of {config.epochs}")
    table.add_row("val top-1 / top-5", f"{result.best['val_top1']:.2%} / {result.best['val_top5']:.2%}")
    table.add_row("time", f"{result.seconds:.0f} s")
    if init["origin"] != "scratch":
        table.add_row("started from", describe_init(init))
    if teacher:
        table.add_row("distilled from", teacher)
    out.print(table)


def _without_nproc(argv: list[str]) -> list[str]:
    """The command line minus ``--nproc N`` (torchrun's processes must not launch again)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            kept.append(arg)
    return kept


def _data_line(data: str, splits: Any) -> str:
    how = "streamed from disk" if splits.train.streamed else "in memory"
    images = f"{len(splits.train)} train / {len(splits.val)} val images"
    return f"data: {data}, {images}, {len(splits.class_names)} classes, {how}"
