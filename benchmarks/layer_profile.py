"""Where the milliseconds go: ``bench --profile`` on MobileNetV2 0.75 at 224 px, fp32 and int8, ONNX and
OpenVINO (per-op profiles) and LiteRT (model-level roofline only: its Python interpreter has no op profiler),
1 thread. Per artifact: the measured p50, the sum of the profiled op times and its ratio to the p50 (goal
0.85-1.15), how much slower a profiled run is, the per-op-kind shares, the roofline efficiency against this
device's limits (measured first, as `edgeconv info --peak` does) and the op kind that loses most against its
bound. Writes benchmarks/results/profile.{json,md}.

    python benchmarks/layer_profile.py   # not profile.py: that name would shadow the standard library's
                                          # profile module, which torch.export imports (through cProfile)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from remote import SETTINGS

from edgeconv.exporters import export
from edgeconv.exporters.calibration import load_calibration
from edgeconv.models import create_model
from edgeconv.models.factory import estimate_batchnorm_statistics
from edgeconv.runtime.bench import bench
from edgeconv.runtime.device import device_info
from edgeconv.runtime.peak import measure_peak
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.runtime.profile.roofline import limits_for, roofline, with_roofline
from edgeconv.runtime.profile.tflite_graph import tflite_layers

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    torch.manual_seed(0)
    model = estimate_batchnorm_statistics(create_model("mobilenetv2", 0.75, 1000, 224), 224)
    calibration, _ = load_calibration("digits", None, Preprocessing(224), size=100)
    work = Path(tempfile.mkdtemp(prefix="edgeconv-profile-"))
    peak = measure_peak([1])
    rows = []
    for fmt in ("onnx", "openvino", "tflite"):
        for precision in ("fp32", "int8"):
            path = Path(export(model, fmt, precision, calibration if precision == "int8" else None, work).path)
            runs = SETTINGS.runs if fmt != "tflite" else 0
            result = bench(path, threads=1, settings=SETTINGS, profile_runs=runs)
            p50 = result.latency_ms.p50
            row = {"format": fmt, "precision": precision, "p50_ms": p50}
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
                roof = roofline({"layers": layers}, limits_for(peak, precision, 1) or {}, p50)
                row |= {"profiler": "none (graph from the interpreter)", "macs": sum(x["macs"] for x in layers)}
            row |= {"bound_ms": roof["bound_ms"], "efficiency": roof["efficiency"], "loses_most": roof["loses_most"]}
            rows.append(row)
            print(f"{fmt} {precision}: p50 {p50:.3f} ms, roofline efficiency {roof['efficiency']:.0%}", flush=True)
    device = device_info()
    record = {"device": device, "limits": peak["threads"]["1"], "rows": rows}
    (RESULTS / "profile.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# bench --profile: MobileNetV2 0.75, 224 px, 1 thread",
        "",
        f"Device: {device['cpu_model']}, {device['cores_available']} cores. Random weights with BatchNorm statistics",
        "set; int8 calibrated on 100 digits images. Profiled runs are separate from the timed ones.",
        "",
        "| format | precision | p50 ms | ops sum / p50 | profiled run / p50 | roofline ms | efficiency | "
        "loses most | top kinds (share, efficiency) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        kinds = list(row.get("by_kind", {}).items())[:3]
        top = ", ".join(f"{k} {v['share']:.0%} ({v['efficiency']:.0%})" for k, v in kinds) or "no op times"
        ratio = f"{row['coverage']:.2f}" if "coverage" in row else ""
        overhead = f"{row['overhead']:.2f}" if "overhead" in row else ""
        lines.append(
            f"| {row['format']} | {row['precision']} | {row['p50_ms']:.3f} | {ratio} | {overhead} | "
            f"{row['bound_ms']:.3f} | {row['efficiency']:.0%} | {row['loses_most'] or 'no op times'} | {top} |"
        )
    limits = peak["threads"]["1"]
    lines += [
        "",
        f"Limits (1 thread): GEMM int8 {limits['int8_gmacs']:.0f} / fp32 {limits['fp32_gmacs']:.0f} GMAC/s, "
        f"depthwise int8 {limits['depthwise_int8_gmacs']:.1f} / fp32 {limits['depthwise_fp32_gmacs']:.1f} GMAC/s "
        f"(best runtime), bandwidth {limits['bandwidth_gbs']:.1f} GB/s.",
    ]
    (RESULTS / "profile.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
