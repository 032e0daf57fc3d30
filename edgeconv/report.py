"""The sweep report: a self-contained HTML page (plots embedded as PNG) and a Markdown twin.

Two plots: latency against width per resolution (measured probes, the fitted latency model, the budget
line) and accuracy against latency (candidates, the Pareto front, the budget, the chosen model).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from edgeconv.atomic import write_bytes
from edgeconv.errors import EdgeconvError, require


def _figure_png(draw: Any) -> bytes:
    """Run ``draw(axes)`` on a fresh figure and return it as PNG bytes."""
    matplotlib = require("matplotlib", "host", "edgeconv report")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    draw(axes)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def latency_plot(summary: dict[str, Any]) -> bytes:
    config, probes = summary["config"], summary["probes"]
    model = summary["latency_model"]

    def draw(ax: Any) -> None:
        for resolution in config["resolutions"]:
            points = sorted((p["width"], p["latency_ms"]) for p in probes if p["resolution"] == resolution)
            if points:
                ax.plot(*zip(*points, strict=True), "o-", label=f"{resolution} px (measured)")
        for fitted in summary.get("model_curve", []):
            ax.plot(
                fitted["widths"], fitted["predicted_ms"], "--", alpha=0.6, label=f"{fitted['resolution']} px (model)"
            )
        ax.axhline(config["budget_ms"], color="crimson", lw=1.5, label=f"budget {config['budget_ms']:g} ms")
        ax.set_xlabel("width multiplier")
        ax.set_ylabel(f"{config['stat']} latency (ms)")
        error = model.get("loo_median_abs_error")
        suffix = f"; model error (leave-one-out) median {error:.1%}" if error is not None else ""
        ax.set_title(
            f"{config['model']} {config['format']} {config['precision']}, {config['threads']} thread(s){suffix}",
            fontsize=9,
        )
        ax.legend(fontsize=8)

    return _figure_png(draw)


def annotate(ax: Any, xs: list[float], ys: list[float], labels: list[str]) -> None:
    """Label points; labels of points close together are stacked downwards instead of overprinted."""
    xspan, yspan = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    placed: list[tuple[float, float]] = []
    for x, y, label in sorted(zip(xs, ys, labels, strict=True)):
        crowd = sum(abs(x - px) < 0.06 * xspan and abs(y - py) < 0.04 * yspan for px, py in placed)
        ax.annotate(label, (x, y), fontsize=7, xytext=(4, 3 - 9 * crowd), textcoords="offset points")
        placed.append((x, y))


def draw_selection(ax: Any, front: list[dict[str, Any]], selection: dict[str, Any], what: str) -> None:
    """The Pareto front, the chosen candidate, the budget line and the axis labels of an accuracy plot."""
    stat, chosen = selection["stat"], selection["chosen"]
    if front:
        ax.plot(
            [c["latency_ms"][stat] for c in front],
            [c["top1"] * 100 for c in front],
            "-",
            color="gray",
            label="Pareto front",
        )
    if chosen:
        ax.scatter(
            [chosen["latency_ms"][stat]],
            [chosen["top1"] * 100],
            s=200,
            facecolors="none",
            edgecolors="green",
            linewidths=2,
            zorder=4,
            label="chosen",
        )
    ax.axvline(selection["budget_ms"], color="crimson", lw=1.5, label=f"budget {selection['budget_ms']:g} ms")
    ax.set_xlabel(f"{stat} {what}")
    ax.set_ylabel("held-out top-1 (%)")
    ax.legend(fontsize=7)


def accuracy_plot(summary: dict[str, Any]) -> bytes:
    selection = summary["selection"]
    stat = selection["stat"]
    found = selection["candidates"]

    def draw(ax: Any) -> None:
        if not found:
            ax.text(0.5, 0.5, "no candidates: nothing was trained", ha="center", va="center", transform=ax.transAxes)
            ax.axvline(selection["budget_ms"], color="crimson", lw=1.5, label=f"budget {selection['budget_ms']:g} ms")
            ax.set_xlabel(f"{stat} latency (ms)")
            return
        xs = [c["latency_ms"][stat] for c in found]
        ys = [c["top1"] * 100 for c in found]
        ax.scatter(xs, ys, color="steelblue", zorder=3, label="candidates")
        annotate(ax, xs, ys, [f"w{c['width']:g} r{c['resolution']}" for c in found])
        draw_selection(ax, summary.get("pareto", []), selection, "latency (ms)")

    return _figure_png(draw)


STYLE = (
    "body{font-family:sans-serif;max-width:1080px;margin:2em auto;color:#222}table{border-collapse:collapse;"
    "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}"
    "th{background:#f3f3f3}figure{margin:1em 0}img{max-width:100%}.verdict{font-size:1.1em;padding:.6em;"
    "background:#eef6ee;border-left:4px solid green}"
)


def html_page(title: str, body: str) -> str:
    """A self-contained HTML page with the reports' style."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _table(headers: list[str], rows: list[list[str]]) -> tuple[str, str]:
    """The same table as HTML and as Markdown."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    markdown = "\n".join(
        ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        + ["| " + " | ".join(row) + " |" for row in rows]
    )
    return f"<table><tr>{head}</tr>{body}</table>", markdown


CANDIDATE_HEADERS = ["artifact", "width", "px", "top-1", "p50 ms", "p90 ms", "GMAC/s", "of peak", "MB", "budget"]


def candidate_row(name: str, c: dict[str, Any], selection: dict[str, Any]) -> list[str]:
    """One candidate of a selection as a table row (:data:`CANDIDATE_HEADERS`): name, width, px, top-1, p50,
    p90, achieved GMAC/s and fraction of the device's GEMM peak at p50, MB, budget verdict."""
    chosen_sha = (selection["chosen"] or {}).get("artifact_sha256")
    sha = c["artifact_sha256"]
    verdict = "chosen" if sha == chosen_sha else ("fits" if sha in selection["fitting"] else "over")
    return [
        name,
        f"{c['width']:g}",
        str(c["resolution"]),
        f"{c['top1']:.2%}",
        f"{c['latency_ms']['p50']:.3f}",
        f"{c['latency_ms']['p90']:.3f}",
        f"{c['gmacs']:.1f}" if c.get("gmacs") else "-",
        f"{c['fraction_of_peak']:.0%} {c['precision'] if c['precision'] == 'int8' else 'fp32'}"
        if c.get("fraction_of_peak")
        else "-",
        f"{c['size_bytes'] / 1e6:.2f}",
        verdict,
    ]


def _sections(summary: dict[str, Any]) -> list[tuple[str, tuple[str, str]]]:
    selection, config = summary["selection"], summary["config"]
    stat = selection["stat"]
    candidate_rows = [candidate_row(c["artifact_name"], c, selection) for c in selection["candidates"]]
    probe_rows = [
        [f"{p['width']:g}", str(p["resolution"]), f"{p['latency_ms']:.3f}", str(p.get("samples", 1))]
        for p in summary["probes"]
    ]
    device = summary.get("device", {})
    device_rows = [["measured on (target)", str(summary.get("target", "local"))]]
    device_rows += [[k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)] for k, v in device.items()]
    bench = config["bench"]
    settings_rows = [
        ["format / precision", f"{config['format']} / {config['precision']}"],
        ["threads", str(config["threads"])],
        ["statistic", stat],
        [
            "protocol",
            f">= {bench['warmup_runs']} warm-up runs and {bench['warmup_seconds']} s, then >= {bench['runs']} "
            f"runs and {bench['min_seconds']} s, in a separate process per measurement; the widths the search "
            "ends on and every trained candidate are measured 3 times and stand for the median",
        ],
        [
            "measurements",
            f"{summary['measurements']} latency probes for {summary['exhaustive_measurements']} "
            f"candidate configurations ({summary['reused_measurements']} reused from the database)",
        ],
        [
            "latency model",
            f"{summary['latency_model']['formula']}, coefficients "
            f"{[round(c, 4) for c in summary['latency_model']['coefficients']]}",
        ],
        [
            "training",
            f"{config['epochs']} epochs on {config['data']}"
            + (", distilled from the widest" if config["distil"] else ""),
        ],
    ]
    return [
        (
            "Candidates (trained, exported, evaluated, measured)",
            _table(CANDIDATE_HEADERS, candidate_rows),
        ),
        (
            "Latency probes (random weights: latency does not depend on them)",
            _table(["width", "px", f"{stat} ms", "measurements (median)"], probe_rows),
        ),
        ("Measurement settings", _table(["setting", "value"], settings_rows)),
        ("Device", _table(["field", "value"], device_rows)),
    ]


def write_report(summary: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``out`` (.html) and its Markdown twin (plots saved next to it); returns both paths."""
    out = out.with_suffix(".html")
    config, selection = summary["config"], summary["selection"]
    plots = {"latency": latency_plot(summary), "accuracy": accuracy_plot(summary)}
    title = f"edgeconv sweep: {config['model']} under {config['budget_ms']:g} ms {config['stat']}"
    sections = _sections(summary)
    embedded = "".join(
        f'<figure><img alt="{name} plot" src="data:image/png;base64,{base64.b64encode(png).decode()}"></figure>'
        for name, png in plots.items()
    )
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="verdict">{html.escape(selection["reason"])}</p>', embedded]
    body += [f"<h2>{html.escape(name)}</h2>{table_html}" for name, (table_html, _) in sections]
    body.append(f"<p><small>finished {summary['finished_at']}</small></p>")
    write_bytes(out, html_page(title, "".join(body)).encode())
    markdown_path = out.with_suffix(".md")
    lines = [f"# {title}", "", f"**{selection['reason']}**", ""]
    for name, png in plots.items():
        png_path = out.with_name(f"{out.stem}_{name}.png")
        write_bytes(png_path, png)
        lines += [f"![{name} plot]({png_path.name})", ""]
    for name, (_, table_md) in sections:
        lines += [f"## {name}", "", table_md, ""]
    write_bytes(markdown_path, "\n".join(lines).encode())
    return out, markdown_path


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

    return _figure_png(draw)


def write_fleet_report(fleet: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """The devices side by side: one latency curve per device, what each chose, and each device's own report
    (written into its sweep directory and linked). A device that swept several lanes gets its
    multi-lane report; the width curves are drawn for the single-family sweeps."""
    import json

    out = out.with_suffix(".html")
    summaries, rows, configs = [], [], []
    for device in fleet["devices"]:
        if "error" in device:
            rows.append([device["target"], "-", f"failed: {device['error']}", "-", "-", "-"])
            continue
        lanes = Path(device["out"]) / "lanes.json"
        if lanes.is_file():
            from edgeconv.report_lanes import write_lanes_report

            summary = json.loads(lanes.read_text())
            own, _ = write_lanes_report(summary, Path(device["out"]) / "report.html")
        else:
            summary = json.loads((Path(device["out"]) / "sweep.json").read_text())
            summaries.append((device["target"], summary))
            own, _ = write_report(summary, Path(device["out"]) / "report.html")
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
    title = (
        f"edgeconv fleet: {config['model']} under {config['budget_ms']:g} ms {config['stat']} on {len(rows)} devices"
    )
    headers = ["target", "device", "chosen", "top-1", f"{config['stat']} ms", "report"]
    table_html, table_md = _table(headers, rows)
    figure, picture = "", ""
    if summaries:
        plot = fleet_latency_plot(summaries)
        write_bytes(out.with_name(f"{out.stem}_latency.png"), plot)
        image = base64.b64encode(plot).decode()
        figure = f"<figure><img alt='latency per device' src='data:image/png;base64,{image}'></figure>"
        picture = f"![latency per device]({out.stem}_latency.png)\n\n"
    write_bytes(out, html_page(title, f"<h1>{html.escape(title)}</h1>{figure}{table_html}").encode())
    markdown = out.with_suffix(".md")
    write_bytes(markdown, f"# {title}\n\n{picture}{table_md}\n".encode())
    return out, markdown
