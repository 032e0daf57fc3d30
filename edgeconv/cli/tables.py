"""The tables ``sweep`` and ``select`` print: the candidates against the budget, one row per lane, one row
per device of a fleet."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from edgeconv.cli.common import out


def print_selection(selection: dict[str, Any]) -> None:
    """The candidates table and the verdict."""
    stat = selection["stat"]
    chosen = (selection["chosen"] or {}).get("artifact_sha256")
    table = Table(title=f"candidates against {selection['budget_ms']:g} ms {stat}")
    for column in ("artifact", "width", "px", "top-1", f"{stat} ms", "MB", "weights from", ""):
        table.add_column(column, justify="left" if column in ("artifact", "weights from", "") else "right")
    for c in selection["candidates"]:
        mark = (
            "chosen"
            if c["artifact_sha256"] == chosen
            else ("fits" if c["artifact_sha256"] in selection["fitting"] else "over budget")
        )
        table.add_row(
            c["artifact_name"],
            f"{c['width']:g}",
            str(c["resolution"]),
            f"{c['top1']:.2%}",
            f"{c['latency_ms'][stat]:.3f}",
            f"{c['size_bytes'] / 1e6:.2f}",
            c.get("weights_from") or "-",
            mark,
        )
    out.print(table)
    out.print(("[green]selected[/]: " if chosen else "[red]no selection[/]: ") + selection["reason"])


def print_lanes(summary: dict[str, Any]) -> None:
    """One row per lane: what it chose, or how far over budget its fastest width is, and its cost per unit of
    work and size on this target; then the fastest lane per width and the int8 verdicts."""
    from edgeconv.fastest import int8_sentence
    from edgeconv.report.lanes import lane_label

    stat = summary["config"]["stat"]
    table = Table(title=f"lanes on {summary['target']} against {summary['config']['budget_ms']:g} ms {stat}")
    columns = ("lane", "group", "best within budget", "top-1", f"{stat} ms", "fastest ms", "ms/GMAC", "ms/M params")
    for column in columns:
        table.add_column(column, justify="left" if column in ("lane", "group", "best within budget") else "right")
    for entry in summary["lanes"]:
        chosen, efficiency = entry["chosen"], entry["efficiency"]
        verdict = chosen["artifact_name"] if chosen else ("over budget at every width" if not entry["fits"] else "-")
        table.add_row(
            lane_label(entry, summary),
            entry["group"],
            verdict,
            f"{chosen['top1']:.2%}" if chosen else "-",
            f"{chosen['latency_ms'][stat]:.3f}" if chosen else "-",
            f"{efficiency['fastest']['latency_ms']:.3f}",
            f"{efficiency['ms_per_gmac']:.2f}",
            f"{efficiency['ms_per_mparam']:.3f}",
        )
    out.print(table)
    for verdict in summary["int8_vs_fp32"]:
        out.print(int8_sentence(verdict))


def print_fleet(fleet: dict[str, Any]) -> None:
    """One row per device: what it chose."""
    table = Table(title="the fleet: one sweep per device")
    for column in ("target", "device", "chosen", "top-1", "p90 ms"):
        table.add_column(column)
    for device in fleet["devices"]:
        chosen = device.get("chosen") or {}
        table.add_row(
            device["target"],
            device.get("device_id", "-"),
            chosen.get("artifact_name") or device.get("error", "nothing fits"),
            f"{chosen['top1']:.2%}" if chosen else "-",
            f"{chosen['latency_ms']['p90']:.3f}" if chosen else "-",
        )
    out.print(table)
