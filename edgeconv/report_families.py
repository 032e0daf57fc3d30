"""The cross-family sweep report: every family's candidates on one accuracy-latency plane (baseline marked),
measured latency against MACs per family, and the per-family cost table; each family's own sweep report is
written into its directory and linked."""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

from edgeconv.atomic import write_bytes
from edgeconv.report import (
    _figure_png,
    _table,
    annotate,
    candidate_row,
    draw_selection,
    html_page,
    write_report,
)


def family_label(entry: dict[str, Any]) -> str:
    """``resnet18 (baseline)`` or ``mobilenetv2``: a family's name in tables and plots."""
    return f"{entry['family']} (baseline)" if entry["baseline"] else entry["family"]


BASELINE_STYLE = {"marker": "s", "color": "black"}


def _family_summaries(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["family"]: json.loads((Path(e["out"]) / "sweep.json").read_text()) for e in summary["families"]}


def accuracy_plot(summary: dict[str, Any]) -> bytes:
    """Top-1 against latency of every trained candidate, one colour per family, the baseline as black squares,
    the Pareto front across families, the budget and the chosen model."""
    selection, stat = summary["selection"], summary["selection"]["stat"]

    def draw(ax: Any) -> None:
        xs: list[float] = []
        ys: list[float] = []
        labels: list[str] = []
        for entry in summary["families"]:
            points = [c for c in selection["candidates"] if c["model"] == entry["family"]]
            if not points:
                continue
            style = BASELINE_STYLE if entry["baseline"] else {"marker": "o"}
            x, y = [c["latency_ms"][stat] for c in points], [c["top1"] * 100 for c in points]
            ax.scatter(x, y, label=family_label(entry), zorder=3, **style)
            xs, ys, labels = xs + x, ys + y, labels + [f"w{c['width']:g}" for c in points]
        if xs:
            annotate(ax, xs, ys, labels)
        draw_selection(ax, summary["pareto"], selection, f"latency on {summary['target']} (ms)")

    return _figure_png(draw)


def cost_plot(summary: dict[str, Any], family_summaries: dict[str, dict[str, Any]]) -> bytes:
    """Measured latency against multiply-accumulates, one curve per family (log-log): families on the same
    line cost the same per MAC; a family above the others is slow for its MACs on this device."""
    stat = summary["config"]["stat"]

    def draw(ax: Any) -> None:
        for entry in summary["families"]:
            probes = sorted(family_summaries[entry["family"]]["probes"], key=lambda p: p["mmacs"])
            style = BASELINE_STYLE if entry["baseline"] else {"marker": "o"}
            ax.plot(
                [p["mmacs"] for p in probes], [p["latency_ms"] for p in probes], "-", label=family_label(entry), **style
            )
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
        ax.set_title("latency against work, per family (random-weight probes)", fontsize=9)
        ax.legend(fontsize=7)

    return _figure_png(draw)


def _rows(summary: dict[str, Any], reports: dict[str, Path]) -> dict[str, tuple[list[str], list[list[str]]]]:
    stat = summary["config"]["stat"]
    families, efficiency = [], []
    for entry in summary["families"]:
        chosen, cost = entry["chosen"], entry["efficiency"]
        name = family_label(entry)
        fastest = cost["fastest"]
        if chosen:
            verdict = f"w{chosen['width']:g} r{chosen['resolution']}: top-1 {chosen['top1']:.2%}, "
            verdict += f"{chosen['latency_ms'][stat]:.3f} ms"
        elif not entry["fits"]:
            verdict = f"over budget at every width: fastest {fastest['latency_ms']:.3f} ms at "
            verdict += f"w{fastest['width']:g}; not trained"
        else:
            verdict = "no candidate passed export"
        families.append([name, entry["group"], verdict, str(reports[entry["family"]])])
        efficiency.append(
            [
                name,
                f"{cost['ms_per_gmac']:.2f}",
                f"{cost['ms_per_mparam']:.3f}",
                f"{fastest['latency_ms']:.3f} (w{fastest['width']:g}, {fastest['mmacs']:.1f} MMACs, "
                f"{fastest['mparams']:.2f} M params)",
                str(cost["probes"]),
            ]
        )
    selection = summary["selection"]
    labels = {entry["family"]: family_label(entry) for entry in summary["families"]}
    candidates = [
        candidate_row(labels.get(c["model"], c["model"]), c, selection)
        for c in sorted(selection["candidates"], key=lambda c: c["latency_ms"][stat])
    ]
    return {
        "Families": (["family", "group", "best within budget", "family report"], families),
        f"Measured cost per family on {summary['target']} (median over the probed widths)": (
            ["family", f"{stat} ms per GMAC", f"{stat} ms per M params", "fastest measured", "probes"],
            efficiency,
        ),
        "Candidates across families (trained, exported, evaluated, measured)": (
            ["family", "width", "px", "top-1", "p50 ms", "p90 ms", "MB", "budget"],
            candidates,
        ),
    }


def write_families_report(summary: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``out`` (.html) and its Markdown twin (plots next to it), and each family's own report into
    its sweep directory; returns the two paths."""
    out = out.with_suffix(".html")
    family_summaries = _family_summaries(summary)
    reports = {
        name: Path(os.path.relpath(write_report(s, Path(s["out_dir"]) / "report.html")[0], out.parent.resolve()))
        for name, s in family_summaries.items()
    }
    plots = {"accuracy": accuracy_plot(summary), "cost": cost_plot(summary, family_summaries)}
    config = summary["config"]
    title = f"edgeconv sweep across {len(config['models'])} families under {config['budget_ms']:g} ms {config['stat']}"
    subtitle = (
        f"{config['format']} {config['precision']}, {config['threads']} thread(s), "
        f"on {summary['target']} ({summary['device_id']})"
    )
    tables = {name: _table(headers, rows) for name, (headers, rows) in _rows(summary, reports).items()}
    reason = summary["selection"]["reason"]
    body = f"<h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p><p class='verdict'>{html.escape(reason)}</p>"
    body += "".join(
        f'<figure><img alt="{name} plot" src="data:image/png;base64,{base64.b64encode(png).decode()}"></figure>'
        for name, png in plots.items()
    )
    body += "".join(f"<h2>{html.escape(name)}</h2>{table_html}" for name, (table_html, _) in tables.items())
    write_bytes(out, html_page(title, body).encode())
    lines = [f"# {title}", "", subtitle, "", f"**{reason}**", ""]
    for name, png in plots.items():
        write_bytes(out.with_name(f"{out.stem}_{name}.png"), png)
        lines += [f"![{name} plot]({out.stem}_{name}.png)", ""]
    for name, (_, table_md) in tables.items():
        lines += [f"## {name}", "", table_md, ""]
    markdown = out.with_suffix(".md")
    write_bytes(markdown, "\n".join(lines).encode())
    return out, markdown
