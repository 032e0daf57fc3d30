"""Is int8 worth it on this CPU, and in which runtime? Every format x precision x int8 scheme, measured.

MobileNetV2 0.5 / 0.75 / 1.0 and EfficientNet-lite0 are trained on the built-in digits at 96 px (or reused from
--work). Each is exported at 96 px to ONNX (fp32; int8 s8s8 = onnxruntime's documented default QDQ per-channel
conversion, u8s8, u8s8-7bit), TFLite (fp32, fp16, int8 s8s8) and OpenVINO (fp32, fp16, int8 nncf, nncf-7bit),
every int8 file through the accuracy gate (held-out top-1 and its drop below float), and the same trained
weights at 224 px for latency. Latency: p50 at 1 and 2 threads, each file in a fresh `edgeconv bench` process,
in interleaved rounds (the median of the rounds is reported, so that drift on a shared machine hits every file
alike). The device's GEMM peak (`edgeconv info --peak`: int8 and fp32 GMAC/s per thread count) is measured at
the start and the end of the same run; each row gives achieved GMAC/s at p50 and its fraction of that peak.

The checks (issue 13), all ratios within this one run:
- edgeconv's default int8 ONNX (``auto`` for this CPU) <= 0.85x the latency of the s8s8 conversion, and faster
  than fp32, at 1 thread, for every model; its gate drop <= 1.0 point at 96 px.
- the best int8 file of MobileNetV2 0.75 at 224 px reaches >= 50% of the int8 GEMM peak on 1 core.

Writes benchmarks/results/int8_paths.{json,md}.

    python benchmarks/int8_paths.py                      # everything (about an hour on 2 cores)
    python benchmarks/int8_paths.py --models mobilenetv2:0.75 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from formats import checkpoint_for

from edgeconv.checkpoint import load_checkpoint, weights_record
from edgeconv.evaluate import DataCache, evaluate
from edgeconv.exporters import Artifact, export, get_format
from edgeconv.exporters.calibration import CalibrationSet, load_calibration
from edgeconv.exporters.export import artifact_name
from edgeconv.exporters.gate import AccuracyGateError
from edgeconv.models.factory import model_config
from edgeconv.runtime import BenchSettings
from edgeconv.runtime.artifact_info import sidecar_path
from edgeconv.runtime.device import device_info, int8_path
from edgeconv.runtime.peak import measure_peak
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.targets import LocalTarget
from edgeconv.targets.measure_options import MeasureOptions

RESULTS = Path(__file__).parent / "results"
MODELS = "mobilenetv2:0.5,mobilenetv2:0.75,mobilenetv2:1.0,efficientnet_lite0:1.0"
THREADS = (1, 2)


def variants() -> list[tuple[str, str, str | None]]:
    """(format, precision, int8 scheme) of every file: each format's float precisions and each int8 scheme."""
    plan: list[tuple[str, str, str | None]] = []
    for fmt in ("onnx", "tflite", "openvino"):
        spec = get_format(fmt)
        plan += [(fmt, p, None) for p in spec.precisions if p != "int8"]
        plan += [(fmt, "int8", scheme) for scheme in spec.int8_schemes]
    return plan


def export_variants(ckpt: Path, out: Path, resolution: int | None = None) -> list[tuple[Artifact, str | None]]:
    """Every variant of the checkpoint; int8 through the accuracy gate, except at another ``resolution`` than
    the training one (latency only). Exports found in ``out`` are reused."""
    model, meta = load_checkpoint(ckpt)
    preprocessing = Preprocessing.from_dict(meta["preprocessing"])
    if resolution is not None:
        model_config(model)["resolution"] = resolution
        preprocessing = Preprocessing(resolution, preprocessing.mean, preprocessing.std)
    calib, data = load_calibration(None, meta["dataset"], preprocessing)
    pool = CalibrationSet.from_splits(data, len(data.train))
    made = []
    for fmt, precision, scheme in variants():
        directory = out / (scheme or precision) / fmt
        existing = directory / artifact_name(model_config(model), precision, get_format(fmt).suffix)
        if existing.is_file() and sidecar_path(existing).is_file():
            made.append((Artifact.load(existing), scheme))
            continue
        started = time.perf_counter()
        options = {"calibration_pool": pool, "weights": weights_record(ckpt), "meta": meta}
        try:
            val = data.val if resolution is None else None
            artifact = export(model, fmt, precision, calib, directory, val=val, int8_scheme=scheme or "auto", **options)
        except AccuracyGateError as exc:  # kept, ungated, so that its latency and accuracy are still shown
            print(f"  {fmt} {scheme}: {exc}", flush=True)
            artifact = export(model, fmt, precision, calib, directory, int8_scheme=scheme or "auto", **options)
        print(f"  exported {fmt} {scheme or precision} in {time.perf_counter() - started:.0f} s", flush=True)
        made.append((artifact, scheme))
    return made


def measure(artifacts: list[tuple[Artifact, str | None]], rounds: int) -> dict[tuple[str, int], float]:
    """(artifact path, threads) -> median over ``rounds`` interleaved rounds of the p50 in ms."""
    settings = BenchSettings(warmup_runs=20, warmup_seconds=0.5, runs=100, min_seconds=1.5)
    target = LocalTarget()
    samples: dict[tuple[str, int], list[float]] = {}
    for index in range(rounds):
        for artifact, _ in artifacts:
            for threads in THREADS:
                result = target.measure(Path(artifact.path), MeasureOptions(threads, settings))
                samples.setdefault((artifact.path, threads), []).append(result.latency_ms.p50)
        print(f"  round {index + 1}/{rounds} measured", flush=True)
    return {key: statistics.median(values) for key, values in samples.items()}


def rows_for(
    name: str,
    width: float,
    accuracy: list[tuple[Artifact, str | None]],
    latency: list[tuple[Artifact, str | None]],
    p50: dict[tuple[str, int], float],
) -> list[dict[str, Any]]:
    """One row per variant and thread count: 224 px latency with the 96 px accuracy of the same variant."""
    cache = DataCache(None)
    top1 = {}
    for artifact, scheme in accuracy:
        evaluation = evaluate(artifact.path, cache)
        drop = (artifact.accuracy or {}).get("drop_points")
        top1[(artifact.format, artifact.precision, scheme)] = (evaluation.top1, drop)
    rows = []
    for artifact, scheme in latency:
        accurate, drop = top1[(artifact.format, artifact.precision, scheme)]
        for threads in THREADS:
            rows.append(
                {
                    "model": name,
                    "width": width,
                    "resolution": artifact.model["resolution"],
                    "mmacs": artifact.model["macs"] / 1e6,
                    "format": artifact.format,
                    "precision": artifact.precision,
                    "int8_scheme": (artifact.quantization or {}).get("int8_scheme"),
                    "threads": threads,
                    "p50_ms": p50[(artifact.path, threads)],
                    "size_mb": artifact.size_bytes / 1e6,
                    "top1_96px": accurate,
                    "gate_drop_points_96px": drop,
                }
            )
    return rows


def add_efficiency(rows: list[dict[str, Any]], peak: dict[str, dict[str, float]]) -> None:
    for row in rows:
        row["gmacs"] = row["mmacs"] / 1e3 / (row["p50_ms"] / 1e3)
        kind = "int8_gmacs" if row["precision"] == "int8" else "fp32_gmacs"
        row["fraction_of_peak"] = row["gmacs"] / peak[str(row["threads"])][kind]


def best_peak(*measured: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per thread count, the higher of each figure over the measurements (a peak is a maximum)."""
    threads = measured[0]["threads"]
    return {t: {k: max(m["threads"][t][k] for m in measured) for k in threads[t]} for t in threads}


def checks(rows: list[dict[str, Any]], auto_onnx: str) -> list[dict[str, Any]]:
    """The issue's done-means, per model, at 1 thread."""
    found = []
    index = {(r["model"], r["width"], r["format"], r["int8_scheme"] or r["precision"], r["threads"]): r for r in rows}
    for model, width in dict.fromkeys((r["model"], r["width"]) for r in rows):
        default, s8s8 = index[(model, width, "onnx", auto_onnx, 1)], index[(model, width, "onnx", "s8s8", 1)]
        fp32 = index[(model, width, "onnx", "fp32", 1)]
        ratio = default["p50_ms"] / s8s8["p50_ms"]
        drop = default["gate_drop_points_96px"]
        found.append(
            {
                "model": f"{model} {width:g}",
                "check": f"onnx int8 {auto_onnx} <= 0.85x s8s8, < fp32, gate drop <= 1.0 point",
                "value": f"{ratio:.2f}x s8s8 ({default['p50_ms']:.3f} vs {s8s8['p50_ms']:.3f} ms), "
                f"{default['p50_ms'] / fp32['p50_ms']:.2f}x fp32 ({fp32['p50_ms']:.3f} ms), drop {drop:.2f}",
                "pass": ratio <= 0.85 and default["p50_ms"] < fp32["p50_ms"] and drop <= 1.0,
            }
        )
    int8_mbv2 = [
        r for r in rows if (r["model"], r["width"], r["precision"], r["threads"]) == ("mobilenetv2", 0.75, "int8", 1)
    ]
    if int8_mbv2:
        best = max(int8_mbv2, key=lambda r: r["fraction_of_peak"])
        found.append(
            {
                "model": "mobilenetv2 0.75",
                "check": "best int8 file >= 50% of the int8 GEMM peak on 1 core",
                "value": f"{best['format']} {best['int8_scheme']}: {best['gmacs']:.0f} GMAC/s, "
                f"{best['fraction_of_peak']:.0%} of the peak",
                "pass": best["fraction_of_peak"] >= 0.5,
            }
        )
    return found


def markdown(report: dict[str, Any]) -> str:
    dev, peak = report["device"], report["peak"]
    lines = [
        "# int8 paths: format x precision x int8 scheme, against the device's own limit",
        "",
        f"{dev['cpu_model']} (int8 path {dev['int8_path']}), {dev['cores_available']} cores. Models trained on the "
        f"built-in digits at 96 px ({report['epochs']} epochs); latency of the same weights at 224 px, p50 in ms, "
        f"median of {report['rounds']} interleaved rounds of >= 100 runs / 1.5 s, each in a fresh process. top-1: "
        "held-out digits at 96 px; drop: the accuracy gate's top-1 drop below float (points).",
        "",
        "GEMM peak (onnxruntime, 1024^3, best of 20, the higher of the run's start and end): "
        + "; ".join(
            f"{t} thread(s): int8 {v['int8_gmacs']:.0f}, fp32 {v['fp32_gmacs']:.0f} GMAC/s" for t, v in peak.items()
        ),
        "",
        "## Checks",
        "",
        "| model | check | measured | result |",
        "|---|---|---|---|",
        *[
            f"| {c['model']} | {c['check']} | {c['value']} | **{'PASS' if c['pass'] else 'FAIL'}** |"
            for c in report["checks"]
        ],
        "",
        "## Every file",
        "",
        "| model | width | format | precision | scheme | threads | p50 ms | GMAC/s | of peak | MB | top-1 | drop |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        drop = f"{r['gate_drop_points_96px']:.2f}" if r["gate_drop_points_96px"] is not None else "-"
        drop = drop if r["precision"] != "int8" or drop != "-" else "gate failed"
        lines.append(
            f"| {r['model']} | {r['width']:g} | {r['format']} | {r['precision']} | {r['int8_scheme'] or '-'} | "
            f"{r['threads']} | {r['p50_ms']:.3f} | {r['gmacs']:.1f} | {r['fraction_of_peak']:.0%} | "
            f"{r['size_mb']:.2f} | {r['top1_96px']:.2%} | {drop} |"
        )
    lines += [
        "",
        "## Fastest per model and thread count",
        "",
        "| model | threads | fastest | p50 ms | int8 vs fp32 per format |",
        "|---|---|---|---|---|",
    ]
    for (model, width, threads), group in _groups(report["rows"]).items():
        fastest = min(group, key=lambda r: r["p50_ms"])
        versus = []
        for fmt in ("onnx", "tflite", "openvino"):
            fp32 = next(r for r in group if r["format"] == fmt and r["precision"] == "fp32")
            int8 = min((r for r in group if r["format"] == fmt and r["precision"] == "int8"), key=lambda r: r["p50_ms"])
            speedup = fp32["p50_ms"] / int8["p50_ms"]
            versus.append(f"{fmt} {speedup:.2f}x" + (" (int8 SLOWER)" if speedup < 1 else ""))
        label = f"{fastest['format']} {fastest['int8_scheme'] or fastest['precision']}"
        lines.append(f"| {model} {width:g} | {threads} | {label} | {fastest['p50_ms']:.3f} | {', '.join(versus)} |")
    return "\n".join(lines) + "\n"


def _groups(rows: list[dict[str, Any]]) -> dict[tuple[str, float, int], list[dict[str, Any]]]:
    groups: dict[tuple[str, float, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["width"], row["threads"]), []).append(row)
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=MODELS, help="family:width pairs")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("runs/int8_paths"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    started = time.perf_counter()
    peak_before = measure_peak(list(THREADS))
    rows: list[dict[str, Any]] = []
    for item in args.models.split(","):
        name, width = item.split(":")[0], float(item.split(":")[1])
        ckpt = checkpoint_for(width, 96, args.epochs, args.work, model=name)
        print(f"{name} {width:g}: exporting", flush=True)
        accuracy = export_variants(ckpt, args.work / f"{name}_w{width:g}_r96")
        latency = export_variants(ckpt, args.work / f"{name}_w{width:g}_r224", 224)
        rows += rows_for(name, width, accuracy, latency, measure(latency, args.rounds))
    peak_after = measure_peak(list(THREADS))
    peak = best_peak(peak_before, peak_after)
    add_efficiency(rows, peak)
    device = device_info()
    report = {
        "epochs": args.epochs,
        "rounds": args.rounds,
        "seconds": round(time.perf_counter() - started),
        "peak": peak,
        "peak_measurements": [peak_before["threads"], peak_after["threads"]],
        "rows": rows,
        "device": {
            **{k: device[k] for k in ("cpu_model", "cores_available", "os", "cpu_flags")},
            "int8_path": int8_path(device),
        },
    }
    report["checks"] = checks(rows, get_format("onnx").int8_scheme("auto", report["device"]["int8_path"]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "int8_paths.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "int8_paths.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
