"""Where the milliseconds go: ``bench --profile`` on MobileNetV2 0.75, EfficientNet-lite0, MnasNet and ResNet-18
at 224 px, fp32 and int8, ONNX and OpenVINO (per-op profiles) and LiteRT (model-level roofline only: its Python
interpreter has no op profiler), 1 thread; and MobileNetV2 0.75 int8 with its first convolution and classifier
left in float (the ``float_ends`` recipe) and at 2 threads: what edgeconv could change to move its efficiency.

Per artifact: the measured p50, the sum of the profiled op times and its ratio to the p50 (goal 0.85-1.15), how
much slower a profiled run is, the per-op-kind shares, the roofline efficiency against this device's limits
(measured first, as `edgeconv info --peak` does) and the op kind that loses most against its bound.
Writes benchmarks/results/profile.{json,md}.

    python benchmarks/layer_profile.py   # not profile.py: that name would shadow the standard library's
                                          # profile module, which torch.export imports (through cProfile)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
from remote import SETTINGS

from edgeconv.exporters import export
from edgeconv.exporters.calibration import load_calibration
from edgeconv.exporters.recipe import QuantRecipe
from edgeconv.models import create_model
from edgeconv.models.factory import estimate_batchnorm_statistics
from edgeconv.runtime.bench import bench
from edgeconv.runtime.device import device_info
from edgeconv.runtime.peak import measure_peak
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.runtime.profile.roofline import limits_for, roofline, with_roofline
from edgeconv.runtime.profile.tflite_graph import tflite_layers

RESULTS = Path(__file__).parent / "results"
MODELS = [("mobilenetv2", 0.75), ("efficientnet_lite0", 1.0), ("mnasnet", 1.0), ("resnet18", 1.0)]
FORMATS = ("onnx", "openvino", "tflite")


def measure(path: Path, fmt: str, precision: str, peak: dict[str, Any], threads: int = 1) -> dict[str, Any]:
    """One artifact's p50, profile summary and roofline at ``threads``."""
    runs = SETTINGS.runs if fmt != "tflite" else 0
    result = bench(path, threads=threads, settings=SETTINGS, profile_runs=runs)
    p50 = result.latency_ms.p50
    row: dict[str, Any] = {"format": fmt, "precision": precision, "p50_ms": p50}
    if result.profile is not None:
        profile = with_roofline(result, peak) or {}
        roof = profile["roofline"]
        row |= {
            "profiler": profile["profiler"],
            "profiled_ms": profile["profiled_ms"],
            "coverage": profile["coverage"],
            "overhead": profile["overhead"],
            "macs": profile["macs"],
            "layers": len(profile["layers"]),
            "fused_nodes": len(profile["fused"]),
            "by_kind": {
                kind: {**entry, "efficiency": roof["by_kind"][kind]["efficiency"]}
                for kind, entry in profile["by_kind"].items()
            },
        }
    else:
        layers = [layer.to_dict() for layer in tflite_layers(path)]
        roof = roofline({"layers": layers}, limits_for(peak, precision, threads) or {}, p50)
        row |= {"profiler": "none (graph from the interpreter)", "macs": sum(x["macs"] for x in layers)}
    return row | {"bound_ms": roof["bound_ms"], "efficiency": roof["efficiency"], "loses_most": roof["loses_most"]}


def table_line(row: dict[str, Any]) -> str:
    kinds = list(row.get("by_kind", {}).items())[:3]
    top = ", ".join(f"{k} {v['share']:.0%} ({v['efficiency']:.0%})" for k, v in kinds) or "no op times"
    ratio = f"{row['coverage']:.2f}" if "coverage" in row else ""
    overhead = f"{row['overhead']:.2f}" if "overhead" in row else ""
    depthwise = row.get("by_kind", {}).get("depthwise conv", {}).get("share")
    return (
        f"| {row['model']} | {row['format']} | {row['precision']}{row.get('variant', '')} | {row['p50_ms']:.3f} | "
        f"{ratio} | {overhead} | {row['bound_ms']:.3f} | {row['efficiency']:.0%} | "
        f"{'' if depthwise is None else f'{depthwise:.0%}'} | {row['loses_most'] or 'no op times'} | {top} |"
    )


def gemm_line(limits: dict[str, Any]) -> str:
    found = limits.get("gemm_by_runtime", {})
    return "; ".join(f"{name} int8 {f['int8']:.0f} / fp32 {f['fp32']:.0f} GMAC/s" for name, f in found.items())


def main() -> None:
    calibration, _ = load_calibration("digits", None, Preprocessing(224), size=100)
    work = Path(tempfile.mkdtemp(prefix="edgeconv-profile-"))
    peak = measure_peak([1, 2])
    rows = []
    for family, width in MODELS:
        torch.manual_seed(0)
        model = estimate_batchnorm_statistics(create_model(family, width, 1000, 224), 224)
        name = f"{family} {width:g}"
        variants = [(fmt, precision, None, 1) for fmt in FORMATS for precision in ("fp32", "int8")]
        if family == "mobilenetv2":
            variants += [(fmt, "int8", QuantRecipe(float_ends=True), 1) for fmt in ("onnx", "openvino")]
            variants += [(fmt, "int8", None, 2) for fmt in ("onnx", "openvino")]
        for fmt, precision, recipe, threads in variants:
            out = work / family / (f"{fmt}-{precision}" + ("-float-ends" if recipe else ""))
            calib = calibration if precision == "int8" else None
            path = Path(export(model, fmt, precision, calib, out, recipe=recipe).path)
            row = {"model": name, "threads": threads, **measure(path, fmt, precision, peak, threads)}
            row |= {"variant": " float ends"} if recipe else {"variant": f" {threads} threads"} if threads > 1 else {}
            rows.append(row)
            label = f"{name} {fmt} {precision}{row.get('variant', '')}"
            print(f"{label}: p50 {row['p50_ms']:.3f} ms, efficiency {row['efficiency']:.0%}", flush=True)
    device = device_info()
    record = {"device": device, "limits": peak["threads"]["1"], "limits_by_threads": peak["threads"], "rows": rows}
    (RESULTS / "profile.json").write_text(json.dumps(record, indent=2) + "\n")
    limits = peak["threads"]["1"]
    lines = [
        "# bench --profile: four families at 224 px, 1 thread (and MobileNetV2 0.75 int8 at 2)",
        "",
        f"Device: {device['cpu_model']}, {device['cores_available']} cores. Random weights with BatchNorm statistics",
        "set; int8 calibrated on 100 digits images. Profiled runs are separate from the timed ones.",
        "",
        "| model | format | precision | p50 ms | ops sum / p50 | profiled run / p50 | roofline ms | efficiency | "
        "depthwise share | loses most | top kinds (share, efficiency) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *map(table_line, rows),
        "",
        f"Limits (1 thread): GEMM int8 {limits['int8_gmacs']:.0f} / fp32 {limits['fp32_gmacs']:.0f} GMAC/s, "
        f"depthwise int8 {limits['depthwise_int8_gmacs']:.1f} / fp32 {limits['depthwise_fp32_gmacs']:.1f} GMAC/s "
        f"(best runtime), main-memory bandwidth {limits['bandwidth_gbs']:.1f} GB/s.",
        "",
        "Efficiency = the sum of the layers' roofline bounds / the measured p50 (LiteRT: from the graph only; its",
        "Python interpreter has no op profiler). 'float ends': the first convolution and the classifier left in",
        "float (QuantRecipe(float_ends=True)), measured against the default int8 export of the same weights; '2",
        "threads' against the 2-thread limits. The GEMM peak is the best runtime's (here, 1 thread:",
        f"{gemm_line(limits)}).",
    ]
    (RESULTS / "profile.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
