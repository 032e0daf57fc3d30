"""The report of a sweep across lanes (families, formats, precisions): every lane's candidates on one
accuracy-latency plane (baseline marked), measured latency against MACs per lane, the per-lane cost table, the
fastest runtime and precision at each width, and whether int8 pays off per format; each lane's own report is
written into its directory and linked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgeconv.fastest import int8_sentence
from edgeconv.report.page import Page, Table, annotate, figure_png
from edgeconv.report.profiles import depthwise_share, fastest_kind_table, kinds_plot, profile_sections, slowest_of
from edgeconv.report.single import CANDIDATE_HEADERS, candidate_row, draw_selection, write_single


def lane_label(entry: dict[str, Any], summary: dict[str, Any]) -> str:
    """A lane's name in tables and plots, naming only what varies: ``resnet18 (baseline)``, ``onnx int8``,
    ``mobilenetv2 onnx int8``."""
    lanes = summary["lanes"]
    parts = []
    if len({e["family"] for e in lanes}) > 1:
        parts.append(f"{entry['family']} (baseline)" if entry["baseline"] else entry["family"])
    if len({(e["format"], e["precision"]) for e in lanes}) > 1:
        parts.append(f"{entry['format']} {entry['precision']}")
    return " ".join(parts) or entry["family"]


def _is_lane(candidate: dict[str, Any], entry: dict[str, Any]) -> bool:
    return (candidate["model"], candidate["format"], candidate["precision"]) == (
        entry["family"],
        entry["format"],
        entry["precision"],
    )


BASELINE_STYLE = {"marker": "s", "color": "black"}


def lane_style(index: int, entry: dict[str, Any]) -> dict[str, str]:
    """One colour per lane, the same in every plot (a lane without candidates keeps its colour), and black
    squares for the baseline."""
    return BASELINE_STYLE if entry["baseline"] else {"marker": "o", "color": f"C{index % 10}"}


def _lane_summaries(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each lane's own summary: embedded in lanes.json (before, each lane wrote OUT/<lane>/sweep.json)."""
    return {
        e["lane"]: e["summary"] if "summary" in e else json.loads((Path(e["out"]) / "sweep.json").read_text())
        for e in summary["lanes"]
    }


def lane_profiles(summary: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Per lane label: ``(candidate label, profile digest)`` of each of its profiled candidates (sweep --profile)."""
    own = _lane_summaries(summary)
    found = {}
    for entry in summary["lanes"]:
        candidates = own[entry["lane"]]["selection"]["candidates"]
        name = lane_label(entry, summary)
        found[name] = [
            (f"{name} w{c['width']:g} r{c['resolution']}", c["profile"]) for c in candidates if c.get("profile")
        ]
    return found


def accuracy_plot(summary: dict[str, Any]) -> bytes:
    """Top-1 against latency of every trained candidate, one colour per lane, the baseline as black squares,
    the Pareto front across lanes, the budget and the chosen model."""
    selection, stat = summary["selection"], summary["selection"]["stat"]

    def draw(ax: Any) -> None:
        xs: list[float] = []
        ys: list[float] = []
        labels: list[str] = []
        for index, entry in enumerate(summary["lanes"]):
            points = [c for c in selection["candidates"] if _is_lane(c, entry)]
            if not points:
                continue
            style = lane_style(index, entry)
            x, y = [c["latency_ms"][stat] for c in points], [c["top1"] * 100 for c in points]
            ax.scatter(x, y, label=lane_label(entry, summary), zorder=3, **style)
            xs, ys, labels = xs + x, ys + y, labels + [f"w{c['width']:g}" for c in points]
        if xs:
            annotate(ax, xs, ys, labels)
        draw_selection(ax, summary["pareto"], selection, f"latency on {summary['target']} (ms)")

    return figure_png(draw)


def cost_plot(summary: dict[str, Any]) -> bytes:
    """Measured latency against multiply-accumulates, one curve per lane (log-log): lanes on the same line
    cost the same per MAC; a lane above the others is slow for its MACs on this device."""
    stat = summary["config"]["stat"]

    def draw(ax: Any) -> None:
        for index, entry in enumerate(summary["lanes"]):
            probes = sorted(entry["probes"], key=lambda p: p["mmacs"])
            style = lane_style(index, entry)
            label = lane_label(entry, summary)
            ax.plot([p["mmacs"] for p in probes], [p["latency_ms"] for p in probes], "-", label=label, **style)
        ax.axhline(summary["config"]["budget_ms"], color="crimson", lw=1.5, label="budget")
        from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # 0.2, 0.5, 1, 2, 5 rather than 2 x 10^-1 or every minor tick
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FormatStrFormatter("%g"))
            axis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("multiply-accumulates (M), every probed width")
        ax.set_ylabel(f"{stat} latency (ms)")
        ax.set_title("latency against work, per lane (random-weight probes)", fontsize=9)
        ax.legend(fontsize=7)

    return figure_png(draw)


def _tables(summary: dict[str, Any], reports: dict[str, Path]) -> dict[str, Table]:
    stat = summary["config"]["stat"]
    profiles = lane_profiles(summary)
    lanes, efficiency = [], []
    for entry in summary["lanes"]:
        chosen, cost = entry["chosen"], entry["efficiency"]
        name = lane_label(entry, summary)
        fastest = cost["fastest"]
        if chosen:
            verdict = f"w{chosen['width']:g} r{chosen['resolution']}: top-1 {chosen['top1']:.2%}, "
            verdict += f"{chosen['latency_ms'][stat]:.3f} ms"
        elif not entry["fits"]:
            verdict = f"over budget at every width: fastest {fastest['latency_ms']:.3f} ms at "
            verdict += f"w{fastest['width']:g}; not trained"
        else:
            verdict = "no candidate passed export"
        scheme = entry.get("int8_scheme") or "-"
        lanes.append([name, entry["group"], scheme, verdict, str(reports[entry["lane"]])])
        efficiency.append(
            [
                name,
                f"{cost['ms_per_gmac']:.2f}",
                f"{cost['ms_per_mparam']:.3f}",
                f"{fastest['latency_ms']:.3f} (w{fastest['width']:g}, {fastest['mmacs']:.1f} MMACs, "
                f"{fastest['mparams']:.2f} M params)",
                str(cost["probes"]),
                depthwise_share([profile for _, profile in profiles[name]]),
            ]
        )
    selection = summary["selection"]

    def label(candidate: dict[str, Any]) -> str:
        entry = next((e for e in summary["lanes"] if _is_lane(candidate, e)), None)
        return lane_label(entry, summary) if entry else str(candidate["model"])

    candidates = [
        candidate_row(label(c), c, selection)
        for c in sorted(selection["candidates"], key=lambda c: c["latency_ms"][stat])
    ]
    return {
        "Lanes": (["lane", "group", "int8 scheme", "best within budget", "lane report"], lanes),
        f"Fastest runtime and precision per width on {summary['target']}": fastest_table(summary),
        f"Measured cost per lane on {summary['target']} (median over the probed widths)": (
            [
                "lane",
                f"{stat} ms per GMAC",
                f"{stat} ms per M params",
                "fastest measured",
                "probes",
                "time in depthwise convs (profiled)",
            ],
            efficiency,
        ),
        "Candidates across lanes (trained, exported, evaluated, measured)": (
            ["lane", *CANDIDATE_HEADERS[1:]],
            candidates,
        ),
        **_profile_tables(summary, profiles),
    }


def _profile_tables(summary: dict[str, Any], profiles: dict[str, list[tuple[str, dict[str, Any]]]]) -> dict[str, Table]:
    """With profiled candidates: where each one's time goes, the chosen one's slowest layers, and which lane
    runs each op kind fastest."""
    entries = [entry for found in profiles.values() for entry in found]
    if not entries:
        return {}
    lanes = {name: [profile for _, profile in found] for name, found in profiles.items()}
    return {
        **profile_sections(entries, slowest_of(summary["selection"]["chosen"], entries)),
        f"Fastest lane per op kind on {summary['target']} (achieved rate over each lane's profiled candidates)": (
            fastest_kind_table(lanes)
        ),
    }


def fastest_table(summary: dict[str, Any]) -> Table:
    """One row per family, resolution and width: each runtime-precision's latency (measured; ``~`` where the
    lane's latency model predicts it) and the fastest."""
    rows = summary["fastest_per_width"]
    runtimes = list(dict.fromkeys(f"{e['format']}-{e['precision']}" for e in summary["lanes"]))
    stat = summary["config"]["stat"]
    body = []
    for row in rows:
        cells = []
        for runtime in runtimes:
            value = row["lanes"].get(runtime)
            cells.append("-" if value is None else ("" if value["measured"] else "~") + f"{value['latency_ms']:.3f}")
        body.append(
            [row["family"], f"{row['width']:g}", str(row["resolution"]), *cells, row["fastest"].replace("-", " ")]
        )
    return ["family", "width", "px", *[f"{r.replace('-', ' ')} {stat} ms" for r in runtimes], "fastest"], body


def _plots(summary: dict[str, Any]) -> dict[str, bytes]:
    plots = {"accuracy": accuracy_plot(summary), "cost": cost_plot(summary)}
    entries = [entry for found in lane_profiles(summary).values() for entry in found]
    if entries:
        plots["op_kinds"] = kinds_plot(entries, "where each profiled candidate's time goes, per lane")
    return plots


def write_lanes(summary: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``out`` (.html) and its Markdown twin, and each lane's own report into its directory; returns the
    two paths."""
    out = out.with_suffix(".html")
    reports = {
        name: Path(os.path.relpath(write_single(s, Path(s["out_dir"]) / "report.html")[0], out.parent.resolve()))
        for name, s in _lane_summaries(summary).items()
    }
    config = summary["config"]
    return Page(
        title=(
            f"edgeconv sweep across {len(summary['lanes'])} lanes ({', '.join(config['models'])}; {config['format']}; "
            f"{config['precision']}) under {config['budget_ms']:g} ms {config['stat']}"
        ),
        subtitle=f"{config['threads']} thread(s), on {summary['target']} ({summary['device_id']})",
        verdicts=[summary["selection"]["reason"], *(int8_sentence(v) for v in summary["int8_vs_fp32"])],
        plots=_plots(summary),
        tables=_tables(summary, reports),
    ).write(out)
