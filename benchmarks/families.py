"""Every model family at width 1.0, 224 px (Inception v3 at 299): TFLite and OpenVINO, fp32 and int8, one
thread. Per family: p50 latency of each, MMACs, parameters, and measured milliseconds per GMAC and per
million parameters, so that "tuned for parameters, not for latency" and "N x faster at equal accuracy" can
be read off this machine's own numbers.

Models have random weights with BatchNorm statistics estimated on noise (latency does not depend on the
weights); int8 calibrates on digits images resized to the input size. Every export passes edgeconv's
parity check against PyTorch (export() refuses otherwise; fp32 is checked on N(0, 1) noise, the inputs its
BatchNorm statistics were estimated on, as a sweep checks its probes); a family x format x precision that
cannot be exported is recorded with the reason. Measurements run through the ``local`` target (a fresh process per
measurement, as a sweep measures) in interleaved rounds; the median of the rounds' p50 is reported.
Exports found in --work are reused and measured rows survive an interrupted run. Writes
benchmarks/results/families.{json,md}.

    python benchmarks/families.py                    # every family, 3 rounds
    python benchmarks/families.py --families resnet18,mobilenetv2 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from edgeconv.data import load_data
from edgeconv.exporters import Artifact, export
from edgeconv.exporters.calibration import CalibrationSet
from edgeconv.exporters.export import artifact_name
from edgeconv.models import create_model, list_models, model_info
from edgeconv.models.factory import estimate_batchnorm_statistics, model_config
from edgeconv.models.registry import GROUPS, get_spec
from edgeconv.runtime import BenchSettings
from edgeconv.runtime.artifact_info import sidecar_path
from edgeconv.runtime.device import device_info
from edgeconv.runtime.formats import get_format
from edgeconv.targets import LocalTarget
from edgeconv.targets.measure_options import MeasureOptions

RESULTS = Path(__file__).parent / "results"
PLAN = [("tflite", "fp32"), ("tflite", "int8"), ("openvino", "fp32"), ("openvino", "int8")]
RESOLUTION = {"inception_v3": 299}
CALIBRATION_IMAGES = 32

SETTINGS = BenchSettings(warmup_runs=5, warmup_seconds=0.5, runs=20, min_seconds=1.0)


def exports_for(family: str, work: Path, calibration: dict[int, CalibrationSet]) -> dict[str, Any]:
    """(format, precision) -> Artifact, or the reason it could not be made; reuses earlier exports."""
    resolution = RESOLUTION.get(family, 224)
    if resolution not in calibration:
        calibration[resolution] = CalibrationSet.from_splits(load_data("digits", resolution), CALIBRATION_IMAGES)
    torch.manual_seed(0)
    model = estimate_batchnorm_statistics(create_model(family, 1.0, 10, resolution), resolution, batches=2)
    made: dict[str, Any] = {}
    for fmt, precision in PLAN:
        out = work / family
        path = out / artifact_name(model_config(model), precision, get_format(fmt).suffix)
        if sidecar_path(path).is_file():
            made[f"{fmt}/{precision}"] = Artifact.load(path)
            continue
        started = time.perf_counter()
        try:
            made[f"{fmt}/{precision}"] = export(
                model,
                fmt,
                precision,
                calibration[resolution] if precision == "int8" else None,  # fp32 parity: on noise, like the BN stats
                out,
                weights={"source": "random-init"},
            )
            print(f"  {family} {fmt} {precision}: exported in {time.perf_counter() - started:.0f} s", flush=True)
        except Exception as exc:  # recorded: the table says which format x precision a family cannot do
            made[f"{fmt}/{precision}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            print(f"  {family} {fmt} {precision}: FAILED {made[f'{fmt}/{precision}']}", flush=True)
    return made


def measure(artifacts: dict[str, dict[str, Any]], rounds: int) -> dict[tuple[str, str], list[float]]:
    """p50 of every artifact in each of ``rounds`` interleaved rounds."""
    target = LocalTarget()
    samples: dict[tuple[str, str], list[float]] = {}
    for index in range(rounds):
        for family, made in artifacts.items():
            for key, artifact in made.items():
                if isinstance(artifact, Artifact):
                    result = target.measure(Path(artifact.path), MeasureOptions(1, SETTINGS))
                    samples.setdefault((family, key), []).append(result.latency_ms.p50)
        print(f"round {index + 1}/{rounds} measured", flush=True)
    return samples


def row(family: str, made: dict[str, Any], samples: dict[tuple[str, str], list[float]]) -> dict[str, Any]:
    info = model_info(family, 1.0, RESOLUTION.get(family, 224), 1000)
    entry: dict[str, Any] = {
        "family": family,
        "group": get_spec(family).group,
        "resolution": info.resolution,
        "params": info.params,
        "mmacs": info.macs / 1e6,
    }
    for key, artifact in made.items():
        if not isinstance(artifact, Artifact):
            entry[key] = {"failed": artifact}
            continue
        p50 = statistics.median(samples[(family, key)])
        entry[key] = {
            "p50_ms": p50,
            "ms_per_gmac": p50 / (info.macs / 1e9),
            "ms_per_mparam": p50 / (info.params / 1e6),
            "size_mb": artifact.size_bytes / 1e6,
            "export_seconds": artifact.export_seconds,
            "parity_max_abs_diff": artifact.parity["max_abs_diff"],
        }
    return entry


def markdown(report: dict[str, Any]) -> str:
    device = report["device"]
    lines = [
        "# Every family at width 1.0, 1 thread",
        "",
        f"{device['cpu_model']} ({', '.join(device['cpu_flags'])}), {report['rounds']} interleaved rounds, median "
        "of the rounds' p50; random weights (latency does not depend on them); 224 px, Inception v3 299 px. "
        "ms/GMAC: p50 divided by the model's multiply-accumulates; ms/Mp: by its parameters.",
        "",
        "| group | family | MMACs | params (M) | TFLite fp32 ms | TFLite int8 ms | OpenVINO fp32 ms | OpenVINO int8 ms "
        "| ms/GMAC (TFLite fp32) | ms/GMAC (OpenVINO int8) | ms/Mp (TFLite fp32) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(entry: dict[str, Any], key: str, field: str = "p50_ms", digits: int = 2) -> str:
        value = entry[key]
        return "fails" if "failed" in value else f"{value[field]:.{digits}f}"

    for entry in report["rows"]:
        lines.append(
            f"| {entry['group']} | {entry['family']} | {entry['mmacs']:.0f} | {entry['params'] / 1e6:.2f} | "
            + " | ".join(cell(entry, f"{fmt}/{p}") for fmt, p in PLAN)
            + f" | {cell(entry, 'tflite/fp32', 'ms_per_gmac')} | {cell(entry, 'openvino/int8', 'ms_per_gmac')}"
            + f" | {cell(entry, 'tflite/fp32', 'ms_per_mparam', 3)} |"
        )
    failures = [
        f"- {e['family']} {key}: {e[key]['failed']}"
        for e in report["rows"]
        for key in (f"{f}/{p}" for f, p in PLAN)
        if "failed" in e[key]
    ]
    lines += [
        "",
        "## Exports that failed",
        "",
        *(failures or ["none: every family exports to both formats at fp32 and int8"]),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default=None, help="comma-separated (default: every family)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("runs/bench_families"))
    parser.add_argument("--export-only", action="store_true", help="make the exports and stop")
    args = parser.parse_args()
    torch.set_num_threads(2)
    families = args.families.split(",") if args.families else [n for g in GROUPS for n in list_models(g)]
    calibration: dict[int, CalibrationSet] = {}
    artifacts = {}
    for family in families:
        print(f"exporting {family}", flush=True)
        artifacts[family] = exports_for(family, args.work, calibration)
    if args.export_only:
        sys.exit(0)
    samples = measure(artifacts, args.rounds)
    device = device_info()
    report = {
        "rounds": args.rounds,
        "settings": SETTINGS.__dict__,
        "rows": [row(family, made, samples) for family, made in artifacts.items()],
        "device": {k: device[k] for k in ("cpu_model", "cores_available", "os", "cpu_flags", "int8_path")},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "families.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "families.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
