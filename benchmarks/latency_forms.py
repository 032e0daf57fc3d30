"""The sweep's two latency-model forms on a measured grid: whole-model (MACs, parameters, activations) against
per-op-kind (pointwise, depthwise and other MACs; depthwise and other elements moved), by leave-one-out error
on every grid point that ``benchmarks/sweep.py`` measured (its results/sweep.json: MobileNetV2 at every distinct
width 0.25-1.0, 64 and 48 px, ONNX fp32, 1 thread, each point the median of its rounds). The sweep uses the
per-op-kind form only where its error is lower; this records which wins on real measurements.
Writes benchmarks/results/latency_forms.{json,md}.

    python benchmarks/latency_forms.py
"""

from __future__ import annotations

import json
from pathlib import Path

from edgeconv.models.factory import latency_features, shape_only_model
from edgeconv.report.page import markdown_table
from edgeconv.sweep.latency_model import LatencyModel, Point

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    grid = json.loads((RESULTS / "sweep.json").read_text())
    points = []
    for entry in grid["grid_errors"]:
        width, resolution = entry["width"], entry["resolution"]
        features = latency_features(shape_only_model("mobilenetv2", width, 10, resolution), resolution)
        points.append(Point(width, resolution, features, entry["measured_ms"]))
    summary = LatencyModel().fit(points).summary()
    record = {"source": "results/sweep.json grid_errors", "command": grid["command"], **summary}
    (RESULTS / "latency_forms.json").write_text(json.dumps(record, indent=2) + "\n")
    rows = [
        [
            name,
            form["formula"],
            f"{form['loo_median_abs_error']:.1%}",
            f"{form['loo_max_abs_error']:.1%}",
            f"{form['loo_within_10pct']:.0%}",
        ]
        for name, form in summary["forms"].items()
    ]
    headers = ["form", "formula", "leave-one-out median error", "max", "within 10%"]
    lines = [
        "# Latency model: whole-model against per-op-kind features",
        "",
        f"{len(points)} measured grid points of `{grid['command']}` (benchmarks/results/sweep.json).",
        "",
        markdown_table(headers, rows),
    ]
    lines += ["", f"In use: **{summary['form']}** (the per-op-kind form only where its error is lower)."]
    (RESULTS / "latency_forms.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
