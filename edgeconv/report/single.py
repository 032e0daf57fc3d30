"""The report of a one-lane sweep: latency against width per resolution (measured probes, the fitted latency
model, the budget line), accuracy against latency (candidates, the Pareto front, the budget, the chosen
model), and the candidates, probes, settings and device tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeconv.report.page import Page, Table, annotate, figure_png
from edgeconv.report.profiles import Profiled, kinds_plot, profile_sections, slowest_of

CANDIDATE_HEADERS = [
    "artifact",
    "width",
    "px",
    "top-1",
    "p50 ms",
    "p90 ms",
    "GMAC/s",
    "of peak",
    "MB",
    "weights from",
    "budget",
]


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

    return figure_png(draw)


def draw_selection(ax: Any, front: list[dict[str, Any]], selection: dict[str, Any], what: str) -> None:
    """The Pareto front, the chosen candidate, the budget line and the axis labels of an accuracy plot."""
    stat, chosen = selection["stat"], selection["chosen"]
    if front:
        xs, ys = [c["latency_ms"][stat] for c in front], [c["top1"] * 100 for c in front]
        ax.plot(xs, ys, "-", color="gray", label="Pareto front")
    if chosen:
        point = ([chosen["latency_ms"][stat]], [chosen["top1"] * 100])
        ax.scatter(*point, s=200, facecolors="none", edgecolors="green", linewidths=2, zorder=4, label="chosen")
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

    return figure_png(draw)


def candidate_row(name: str, c: dict[str, Any], selection: dict[str, Any]) -> list[str]:
    """One candidate of a selection as a table row (:data:`CANDIDATE_HEADERS`): name, width, px, top-1, p50,
    p90, achieved GMAC/s and fraction of the device's GEMM peak at p50, MB, budget verdict."""
    chosen_sha = (selection["chosen"] or {}).get("artifact_sha256")
    sha = c["artifact_sha256"]
    verdict = "chosen" if sha == chosen_sha else ("fits" if sha in selection["fitting"] else "over")
    fraction = c.get("fraction_of_peak")
    return [
        name,
        f"{c['width']:g}",
        str(c["resolution"]),
        f"{c['top1']:.2%}",
        f"{c['latency_ms']['p50']:.3f}",
        f"{c['latency_ms']['p90']:.3f}",
        f"{c['gmacs']:.1f}" if c.get("gmacs") else "-",
        f"{fraction:.0%} {'int8' if c['precision'] == 'int8' else 'fp32'}" if fraction else "-",
        f"{c['size_bytes'] / 1e6:.2f}",
        c.get("weights_from") or "-",
        verdict,
    ]


def _settings(summary: dict[str, Any]) -> list[list[str]]:
    config, bench = summary["config"], summary["config"]["bench"]
    model = summary["latency_model"]
    return [
        ["format / precision", f"{config['format']} / {config['precision']}"],
        ["threads", str(config["threads"])],
        ["statistic", config["stat"]],
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
        ["latency model", latency_model_line(model)],
        [
            "training",
            f"{config['train']['epochs']} epochs on {config['data']}"
            + (", distilled from the widest" if config["distil"] else ""),
        ],
    ]


def latency_model_line(model: dict[str, Any]) -> str:
    """The latency model in use and the leave-one-out error of each form fitted (sweeps before per-op-kind
    features have one form)."""
    line = f"{model['formula']}, coefficients {[round(c, 4) for c in model['coefficients']]}"
    forms = model.get("forms") or {}
    errors = [
        f"{name} {form['loo_median_abs_error']:.1%}"
        for name, form in forms.items()
        if form.get("loo_median_abs_error") is not None
    ]
    if errors:
        line += f"; leave-one-out median error: {', '.join(errors)} (the per-op-kind form is used where lower)"
    return line


def profiled(candidates: list[dict[str, Any]], label: Any) -> Profiled:
    """``(label(candidate), its profile digest)`` of every candidate profiled (``sweep --profile``)."""
    return [(label(c), c["profile"]) for c in candidates if c.get("profile")]


def tables(summary: dict[str, Any]) -> dict[str, Table]:
    selection, stat = summary["selection"], summary["selection"]["stat"]
    probes = [
        [f"{p['width']:g}", str(p["resolution"]), f"{p['latency_ms']:.3f}", str(p.get("samples", 1))]
        for p in summary["probes"]
    ]
    device = [["measured on (target)", str(summary.get("target", "local"))]]
    device += [
        [k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)] for k, v in summary.get("device", {}).items()
    ]
    entries = profiled(selection["candidates"], lambda c: c["artifact_name"])
    return {
        "Candidates (trained, exported, evaluated, measured)": (
            CANDIDATE_HEADERS,
            [candidate_row(c["artifact_name"], c, selection) for c in selection["candidates"]],
        ),
        **profile_sections(entries, slowest_of(selection["chosen"], entries)),
        "Latency probes (random weights: latency does not depend on them)": (
            ["width", "px", f"{stat} ms", "measurements (median)"],
            probes,
        ),
        "Measurement settings": (["setting", "value"], _settings(summary)),
        "Device": (["field", "value"], device),
    }


def write_single(summary: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write the report of a one-lane sweep to ``out`` (.html) and its Markdown twin; returns both paths."""
    config = summary["config"]
    plots = {"latency": latency_plot(summary), "accuracy": accuracy_plot(summary)}
    entries = profiled(summary["selection"]["candidates"], lambda c: f"w{c['width']:g} r{c['resolution']}")
    if entries:
        plots["op_kinds"] = kinds_plot(
            entries, f"where each candidate's time goes ({config['format']} {config['precision']})"
        )
    return Page(
        title=f"edgeconv sweep: {config['model']} under {config['budget_ms']:g} ms {config['stat']}",
        verdicts=[summary["selection"]["reason"]],
        plots=plots,
        tables=tables(summary),
        footer=f"finished {summary['finished_at']}",
    ).write(out)
