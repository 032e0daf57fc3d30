"""Training on the built-in digits: accuracy per family x width and wall time.

Checks the target of the training issue: MobileNetV2 0.5 reaches >= 95% validation top-1 in under
5 minutes on this machine. Writes benchmarks/results/train_digits.{json,md}.

    python benchmarks/train_digits.py                       # the gate run plus the family x width table
    python benchmarks/train_digits.py --only-gate           # just MobileNetV2 0.5
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from edgeconv.data import load_data
from edgeconv.models import create_model
from edgeconv.models.factory import count_params
from edgeconv.runtime.device import device_info
from edgeconv.train import TrainConfig, fit

RESULTS = Path(__file__).parent / "results"
GATE: dict[str, Any] = {"model": "mobilenetv2", "width": 0.5, "min_top1": 0.95, "max_seconds": 300}
FAMILIES = ["mobilenetv2", "mnasnet", "mnasnet_a1", "efficientnet_lite0"]
WIDTHS = [0.35, 0.5, 1.0]


def run(name: str, width: float, resolution: int, epochs: int, out: Path) -> dict:
    started = time.perf_counter()
    data = load_data("digits", resolution)  # loading counts towards the wall time
    model = create_model(name, width, 10, resolution)
    result = fit(model, data, TrainConfig(epochs=epochs), out / f"{name}_{width}")
    seconds = time.perf_counter() - started
    row = {
        "model": name,
        "width": width,
        "resolution": resolution,
        "epochs": epochs,
        "params": count_params(model),
        "val_top1": result.best["val_top1"],
        "val_top5": result.best["val_top5"],
        "best_epoch": result.best["epoch"],
        "seconds": round(seconds, 1),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--only-gate", action="store_true")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument("--work", type=Path, default=Path("runs/bench_train"))
    args = parser.parse_args()
    torch.set_num_threads(2)

    gate = run(GATE["model"], GATE["width"], args.resolution, args.epochs, args.work)
    gate["passed"] = gate["val_top1"] >= GATE["min_top1"] and gate["seconds"] <= GATE["max_seconds"]
    rows = (
        []
        if args.only_gate
        else [
            gate if (f, w) == (GATE["model"], GATE["width"]) else run(f, w, args.resolution, args.epochs, args.work)
            for f in args.families.split(",")
            for w in (float(x) for x in args.widths.split(","))
        ]
    )
    device = device_info()
    report = {
        "gate": {**GATE, **gate},
        "table": rows,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": {k: device[k] for k in ("cpu_model", "cores_available", "machine")},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train_digits.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Training on the built-in digits",
        "",
        f"{device['cpu_model']}, {device['cores_available']} cores, torch {torch.__version__}; "
        f"{args.resolution} px, {args.epochs} epochs, AdamW + cosine, label smoothing 0.1, seed 0. "
        "Seconds include loading the data.",
        "",
        f"**Gate** (MobileNetV2 0.5 >= 95% val top-1 in < 300 s): top-1 {gate['val_top1']:.2%} in "
        f"{gate['seconds']:.0f} s: **{'PASS' if gate['passed'] else 'FAIL'}**",
        "",
        "| model | width | params | val top-1 | val top-5 | best epoch | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['width']} | {r['params'] / 1e6:.2f} M | {r['val_top1']:.2%} | {r['val_top5']:.2%} "
        f"| {r['best_epoch']} | {r['seconds']:.0f} |"
        for r in rows or [gate]
    ]
    (RESULTS / "train_digits.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
