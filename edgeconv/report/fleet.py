"""The report of a sweep on several devices: one latency curve per device, what each chose, and each device's
own report (written into its sweep directory and linked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgeconv.errors import EdgeconvError
from edgeconv.report.lanes import write_lanes
from edgeconv.report.page import Page, figure_png
from edgeconv.report.single import write_single


def fleet_latency_plot(summaries: list[tuple[str, dict[str, Any]]]) -> bytes:
    """Latency against width, one curve per device (and resolution), with the budget."""
    config = summaries[0][1]["config"]

    def draw(ax: Any) -> None:
        values = []
        for target, summary in summaries:
            for resolution in summary["config"]["resolutions"]:
                points = sorted(
                    (p["width"], p["latency_ms"]) for p in summary["probes"] if p["resolution"] == resolution
                )
                if points:
                    ax.plot(*zip(*points, strict=True), "o-", label=f"{target}, {resolution} px")
                    values += [latency for _, latency in points]
        ax.axhline(config["budget_ms"], color="crimson", lw=1.5, label=f"budget {config['budget_ms']:g} ms")
        values.append(config["budget_ms"])
        if max(values) / max(min(values), 1e-9) > 20:
            ax.set_yscale("log")  # boards (and a budget far from them) differ by orders of magnitude
        ax.set_xlabel("width multiplier")
        ax.set_ylabel(f"{config['stat']} latency (ms)")
        ax.set_title(f"{config['model']} {config['format']} {config['precision']} on each device", fontsize=9)
        ax.legend(fontsize=7)

    return figure_png(draw)


def write_fleet(fleet: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """The devices side by side. A device that swept several lanes gets its multi-lane report; the width
    curves are drawn for the one-lane sweeps."""
    summaries, rows, configs = [], [], []
    for device in fleet["devices"]:
        if "error" in device:
            rows.append([device["target"], "-", f"failed: {device['error']}", "-", "-", "-"])
            continue
        lanes = Path(device["out"]) / "lanes.json"
        if lanes.is_file():
            summary = json.loads(lanes.read_text())
            own, _ = write_lanes(summary, Path(device["out"]) / "report.html")
        else:
            summary = json.loads((Path(device["out"]) / "sweep.json").read_text())
            summaries.append((device["target"], summary))
            own, _ = write_single(summary, Path(device["out"]) / "report.html")
        configs.append(summary["config"])
        chosen = summary["selection"]["chosen"]
        fingerprint = summary.get("device", {})
        rows.append(
            [
                device["target"],
                f"{fingerprint.get('cpu_model', '?')} ({fingerprint.get('machine', '?')})",
                chosen["artifact_name"] if chosen else "nothing fits the budget",
                f"{chosen['top1']:.2%}" if chosen else "-",
                f"{chosen['latency_ms'][summary['config']['stat']]:.3f}" if chosen else "-",
                str(own),
            ]
        )
    if not configs:
        raise EdgeconvError("no device of this fleet finished its sweep: nothing to report")
    config = configs[0]
    headers = ["target", "device", "chosen", "top-1", f"{config['stat']} ms", "report"]
    budget = f"{config['budget_ms']:g} ms {config['stat']}"
    return Page(
        title=f"edgeconv fleet: {config['model']} under {budget} on {len(rows)} devices",
        plots={"latency": fleet_latency_plot(summaries)} if summaries else {},
        tables={"Devices": (headers, rows)},
    ).write(out)
