"""Every format and precision of trained MobileNetV2s: latency at 1 and 2 threads, size, held-out top-1 and
agreement with PyTorch; and the runtimes' own benchmark tools on the same files.

For each width, a MobileNetV2 is trained on the built-in digits (or reused from --work), exported to ONNX
(fp32, int8), TFLite (fp32, fp16, int8) and OpenVINO (fp32, fp16, int8), evaluated on the held-out split and
measured with edgeconv.runtime in a fresh process per measurement (the `local` target, as a sweep measures; no
torch thread pools in the measured process) in interleaved rounds (the median of the rounds' p50 is reported,
so that drift on a shared machine hits every artifact alike). OpenVINO's benchmark_app measures the same IR
files with the same settings (-hint none -nstreams 1 -nthreads N); the ratio edgeconv / benchmark_app must
stay in [0.9, 1.1]. benchmark_app's median is the plugin's own timer, which leaves out the Python call
around it (3-10% here: benchmarks/openvino_timer.py); the wall-clock ratio (edgeconv's mean over
benchmark_app's duration per iteration) compares like with like. Exports found in --work are reused. Writes
benchmarks/results/formats.{json,md}.

    python benchmarks/formats.py                          # widths 0.5, 0.75, 1.0; 96 px, latency also at 224
    python benchmarks/formats.py --widths 0.75 --rounds 2  # quicker
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from edgeconv.checkpoint import load_checkpoint, weights_record
from edgeconv.data import load_data
from edgeconv.evaluate import DataCache, evaluate
from edgeconv.exporters import Artifact, export, get_format
from edgeconv.exporters.calibration import CalibrationSet, load_calibration
from edgeconv.exporters.export import artifact_name
from edgeconv.models import create_model
from edgeconv.models.factory import model_config, model_stem
from edgeconv.runtime import BenchSettings
from edgeconv.runtime.artifact_info import sidecar_path
from edgeconv.runtime.device import device_info
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.targets import LocalTarget
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.train import TrainConfig, fit

RESULTS = Path(__file__).parent / "results"
PLAN = [
    ("onnx", "fp32"),
    ("onnx", "int8"),
    ("tflite", "fp32"),
    ("tflite", "fp16"),
    ("tflite", "int8"),
    ("openvino", "fp32"),
    ("openvino", "fp16"),
    ("openvino", "int8"),
]
THREADS = (1, 2)


def checkpoint_for(width: float, resolution: int, epochs: int, work: Path, model: str = "mobilenetv2") -> Path:
    """Train ``model`` at ``width`` on digits unless a checkpoint from an earlier run exists."""
    stem = model_stem({"model": model, "width": width, "resolution": resolution})
    path = work / (f"train_w{width:g}" if model == "mobilenetv2" else f"train_{model}_w{width:g}") / f"{stem}.pt"
    if not path.with_suffix(".train.json").exists():  # written when training finished
        print(f"training {model} {width} at {resolution} px for {epochs} epochs", flush=True)
        data = load_data("digits", resolution)
        fit(create_model(model, width, 10, resolution), data, TrainConfig(epochs=epochs), path.parent)
    return path


def export_all(ckpt: Path, out: Path, resolution: int | None = None) -> list[Any]:
    """Every (format, precision) of the checkpoint; int8 through the accuracy gate. With ``resolution`` the
    trained weights are exported at another input size for latency only (no gate: not trained at that size)."""
    model, meta = load_checkpoint(ckpt)
    preprocessing = Preprocessing.from_dict(meta["preprocessing"])
    if resolution is not None:
        model_config(model)["resolution"] = resolution
        preprocessing = Preprocessing(resolution, preprocessing.mean, preprocessing.std)
    calib, data = load_calibration(None, meta["dataset"], preprocessing)
    pool = CalibrationSet.from_splits(data, len(data.train))
    weights = weights_record(ckpt)
    artifacts = []
    for fmt, precision in PLAN:
        existing = out / artifact_name(model_config(model), precision, get_format(fmt).suffix)
        if existing.is_file() and sidecar_path(existing).is_file():  # exported by an earlier run
            artifacts.append(Artifact.load(existing))
            continue
        started = time.perf_counter()
        val = data.val if resolution is None else None
        artifact = export(model, fmt, precision, calib, out, val=val, calibration_pool=pool, weights=weights, meta=meta)
        print(f"  exported {Path(artifact.path).name} in {time.perf_counter() - started:.0f} s", flush=True)
        artifacts.append(artifact)
    return artifacts


def benchmark_app(xml: str, threads: int, seconds: int) -> tuple[float, float]:
    """OpenVINO's benchmark_app with edgeconv's settings: its median latency (ms; the plugin's own timer of
    each request) and its wall-clock time per iteration (Duration / Count, which includes the Python binding)."""
    bin_dir = Path(sys.executable).parent
    hint = json.loads(Path(xml + ".json").read_text())["precision"] != "int8"
    cmd = [
        str(bin_dir / "benchmark_app"),
        "-m",
        xml,
        "-d",
        "CPU",
        "-hint",
        "none",
        "-nstreams",
        "1",
        "-nthreads",
        str(threads),
        "-api",
        "sync",
        "-t",
        str(seconds),
    ] + (["-infer_precision", "f32"] if hint else [])
    text = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600).stdout
    median = re.search(r"Median:\s+([\d.]+)\s+(ms|us)", text)
    count, duration = re.search(r"Count:\s+(\d+) iterations", text), re.search(r"Duration:\s+([\d.]+) ms", text)
    if not (median and count and duration):
        raise RuntimeError(f"no median, count or duration in benchmark_app output:\n{text[-2000:]}")
    return float(median.group(1)) / (1000 if median.group(2) == "us" else 1), float(duration.group(1)) / int(
        count.group(1)
    )


def measure(artifacts: list[Any], rounds: int, official_seconds: int, accuracy: bool = True) -> list[dict[str, Any]]:
    settings = BenchSettings(warmup_runs=20, warmup_seconds=0.5, runs=100, min_seconds=1.5)
    samples: dict[tuple[str, int], list[dict[str, float]]] = {}
    target = LocalTarget()
    for round_index in range(rounds):
        for artifact in artifacts:
            for threads in THREADS:
                result = target.measure(Path(artifact.path), MeasureOptions(threads, settings))
                latency = result.latency_ms
                entry = {"p50": latency.p50, "p90": latency.p90, "mean": latency.mean, "cv": result.cv}
                if artifact.format == "openvino":
                    entry["benchmark_app"], entry["benchmark_app_wall"] = benchmark_app(
                        artifact.path, threads, official_seconds
                    )
                samples.setdefault((artifact.path, threads), []).append(entry)
        print(f"  round {round_index + 1}/{rounds} measured", flush=True)
    rows = []
    cache = DataCache(None)
    for artifact in artifacts:
        evaluation = evaluate(artifact.path, cache) if accuracy else None
        for threads in THREADS:
            runs = samples[(artifact.path, threads)]
            row = {
                "width": artifact.model["width"],
                "resolution": artifact.model["resolution"],
                "format": artifact.format,
                "precision": artifact.precision,
                "threads": threads,
                "p50_ms": statistics.median(r["p50"] for r in runs),
                "p90_ms": statistics.median(r["p90"] for r in runs),
                "size_mb": artifact.size_bytes / 1e6,
                "top1": evaluation.top1 if evaluation else None,
                "agreement": (evaluation.agreement or {}).get("top1_agreement") if evaluation else None,
                "export_seconds": artifact.export_seconds,
                "file": Path(artifact.path).name,
            }
            if artifact.format == "openvino":
                row["benchmark_app_ms"] = statistics.median(r["benchmark_app"] for r in runs)
                # each round measures edgeconv and benchmark_app back to back: the paired ratio cancels drift
                row["ratio_vs_benchmark_app"] = statistics.median(r["p50"] / r["benchmark_app"] for r in runs)
                row["benchmark_app_wall_ms"] = statistics.median(r["benchmark_app_wall"] for r in runs)
                row["wall_ratio_vs_benchmark_app"] = statistics.median(
                    r["mean"] / r["benchmark_app_wall"] for r in runs
                )
            rows.append(row)
    return rows


def speedups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """int8 p50 speed-up over fp32, per width, format and thread count."""
    index = {(r["width"], r["resolution"], r["format"], r["precision"], r["threads"]): r["p50_ms"] for r in rows}
    return [
        {
            "width": w,
            "resolution": res,
            "format": f,
            "threads": t,
            "int8_speedup": index[(w, res, f, "fp32", t)] / index[(w, res, f, "int8", t)],
        }
        for (w, res, f, p, t) in index
        if p == "int8" and (w, res, f, "fp32", t) in index
    ]


def ratio_summary(rows: list[dict[str, Any]]) -> list[str]:
    """The edgeconv / benchmark_app ratios: medians (the target), and wall clock per inference (both loops'
    own Python overhead included; benchmark_app's median is the plugin's timer and leaves the binding out)."""
    lines = []
    for key, label in (
        ("ratio_vs_benchmark_app", "median ratio (edgeconv p50 / benchmark_app median)"),
        ("wall_ratio_vs_benchmark_app", "wall-clock ratio (edgeconv mean / benchmark_app duration per iteration)"),
    ):
        ratios = [r[key] for r in rows if key in r]
        inside = sum(0.9 <= x <= 1.1 for x in ratios)
        lines.append(
            f"- {label}: median {statistics.median(ratios):.2f}, range {min(ratios):.2f} .. {max(ratios):.2f}, "
            f"{inside} of {len(ratios)} in [0.9, 1.1] (**{'PASS' if inside == len(ratios) else 'FAIL'}**)"
        )
    return lines


def markdown(report: dict[str, Any]) -> str:
    dev = report["device"]
    lines = [
        "# Formats and precisions: latency, size, accuracy",
        "",
        f"{dev['cpu_model']}, {dev['cores_available']} cores, {dev['os']}. MobileNetV2 trained on the built-in "
        f"digits at {report['resolution']} px; measured with `edgeconv.runtime` (median of {report['rounds']} "
        "interleaved rounds of >= 100 runs / 1.5 s; p50 and p90 in ms). top-1 on the 359 held-out digits; "
        "agreement = top-1 agreement with the PyTorch checkpoint. Rows at "
        f"{report['latency_resolution']} px export the same trained weights at full size for latency only.",
        "",
        "| width | px | format | precision | threads | p50 ms | p90 ms | MB | top-1 | agreement "
        "| benchmark_app ms | ratio | wall ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        app = (
            f"{r['benchmark_app_ms']:.3f} | {r['ratio_vs_benchmark_app']:.2f} | {r['wall_ratio_vs_benchmark_app']:.2f}"
            if "benchmark_app_ms" in r
            else "- | - | -"
        )
        agreement = f"{r['agreement']:.2%}" if r["agreement"] is not None else "-"
        top1 = f"{r['top1']:.2%}" if r["top1"] is not None else "-"
        lines.append(
            f"| {r['width']:g} | {r['resolution']} | {r['format']} | {r['precision']} | {r['threads']} | "
            f"{r['p50_ms']:.3f} | {r['p90_ms']:.3f} | {r['size_mb']:.2f} | {top1} | {agreement} | {app} |"
        )
    lines += [
        "",
        "int8 speed-up over fp32 (p50):",
        "",
        "| width | px | format | threads | speed-up |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s['width']:g} | {s['resolution']} | {s['format']} | {s['threads']} | {s['int8_speedup']:.2f}x |"
        for s in report["speedups"]
    ]
    lines += ["", *ratio_summary(report["rows"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="0.5,0.75,1.0")
    parser.add_argument("--resolution", type=int, default=96, help="training, export and accuracy")
    parser.add_argument("--latency-resolution", type=int, default=224, help="latency-only exports (0: none)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--official-seconds", type=int, default=2, help="benchmark_app -t (edgeconv: >= 1.5 s)")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_formats"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    partial = args.work / "rows.json"  # measured rows survive an interrupted run
    rows: list[dict[str, Any]] = json.loads(partial.read_text()) if partial.exists() else []
    done = {r["width"] for r in rows}
    for width in (float(w) for w in args.widths.split(",")):
        if width in done:
            continue
        ckpt = checkpoint_for(width, args.resolution, args.epochs, args.work)
        artifacts = export_all(ckpt, args.work / f"exports_w{width:g}")
        new_rows = measure(artifacts, args.rounds, args.official_seconds)
        if args.latency_resolution:
            full = export_all(
                ckpt, args.work / f"exports_w{width:g}_r{args.latency_resolution}", args.latency_resolution
            )
            new_rows += measure(full, args.rounds, args.official_seconds, accuracy=False)
        rows += new_rows
        partial.write_text(json.dumps(rows))
    device = device_info()
    report = {
        "resolution": args.resolution,
        "latency_resolution": args.latency_resolution,
        "rounds": args.rounds,
        "rows": rows,
        "speedups": speedups(rows),
        "device": {k: device[k] for k in ("cpu_model", "cores_available", "os", "cpu_flags")},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "formats.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "formats.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
