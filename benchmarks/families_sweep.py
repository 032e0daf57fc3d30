"""A sweep across families on the built-in digits, timed: MobileNetV2, MnasNet, EfficientNet-lite0 and
MobileNetV3-Small against ResNet-18 as the baseline, under a budget that ResNet-18 misses at full width
(goal: under 15 minutes on 2 cores). Runs the CLI in a fresh database and output directory, then
`edgeconv report`, and keeps the report (Markdown and plots) in benchmarks/results/families_sweep/ with
the timings in benchmarks/results/families_sweep.json.

    python benchmarks/families_sweep.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
FAMILIES = "mobilenetv2,mnasnet,efficientnet_lite0,mobilenetv3_small,resnet18"
SWEEP = [
    "sweep",
    "--model",
    FAMILIES,
    "--baseline",
    "resnet18",
    "--data",
    "digits",
    "--widths",
    "0.35,0.5,0.75,1.0",
    "--resolutions",
    "48",
    "--format",
    "onnx",
    "--precision",
    "fp32",
    "--threads",
    "1",
    "--budget-ms",
    "0.6",
    "--epochs",
    "6",
]
GOAL_S = 15 * 60
WORK = Path("runs/families_sweep")  # kept, so that `edgeconv report --sweep runs/families_sweep/out` can redraw


def edgeconv(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "edgeconv", *args, "--db", str(db)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def main() -> None:
    work = WORK
    shutil.rmtree(work, ignore_errors=True)
    db, out = work / "results.sqlite", work / "out"
    started = time.perf_counter()
    proc = edgeconv(*SWEEP, "--out", str(out), "--json", db=db)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"the sweep failed:\n{proc.stderr}")
    summary = json.loads(proc.stdout)
    report = edgeconv("report", "--sweep", str(out), "--out", str(out / "report.html"), db=db)
    if report.returncode != 0:
        raise SystemExit(f"the report failed:\n{report.stderr}")
    kept = RESULTS / "families_sweep"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for name in ("report.md", "report.html", "report_accuracy.png", "report_cost.png"):
        shutil.copy2(out / name, kept / name)
    baseline = next(f for f in summary["lanes"] if f["baseline"])
    full_width = [p for p in baseline["probes"] if p["width"] == 1.0]
    record = {
        "command": "edgeconv " + " ".join(SWEEP),
        "wall_seconds": round(seconds, 1),
        "goal_seconds": GOAL_S,
        "met": seconds < GOAL_S,
        "baseline": baseline["family"],
        "baseline_full_width_ms": full_width[0]["latency_ms"] if full_width else None,
        "budget_ms": summary["config"]["budget_ms"],
        "chosen": summary["selection"]["chosen"],
        "reason": summary["selection"]["reason"],
        "families": [
            {
                "family": f["family"],
                "fits": f["fits"],
                "chosen": (f["chosen"] or {}).get("artifact_name"),
                "top1": (f["chosen"] or {}).get("top1"),
                **f["efficiency"],
            }
            for f in summary["lanes"]
        ],
        "device": {k: summary["device"].get(k) for k in ("cpu_model", "int8_path", "cores_available")},
    }
    (RESULTS / "families_sweep.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    print(f"{seconds:.0f} s (goal {GOAL_S} s); report in {kept}; the sweep's files in {out}")


if __name__ == "__main__":
    main()
