"""Report sections of op profiles (``bench --profile``, ``sweep --profile``): where each candidate's time goes
(a stacked bar per candidate and a table), its slowest layers against their roofline bound, and which lane
(runtime, precision) runs each op kind fastest on the device."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from edgeconv.report.page import Table, figure_png
from edgeconv.runtime.profile.digest import as_digest, kind_share, rate
from edgeconv.runtime.profile.layers import KINDS

Profiled = list[tuple[str, dict[str, Any]]]  # (label, profile or its digest)
KINDS_TITLE = "Where the time goes (profiled per op kind; efficiency against each layer's roofline bound)"
COLORS = dict(
    zip(KINDS, ["#4c72b0", "#dd8452", "#55a868", "#8172b3", "#c44e52", "#937860", "#da8bc3", "#8c8c8c"], strict=True)
)


def _percent(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"


def _kinds(entries: Profiled) -> list[str]:
    """The op kinds the entries have, in :data:`KINDS` order."""
    present = {kind for _, profile in entries for kind in as_digest(profile)["by_kind"]}
    return [kind for kind in KINDS if kind in present]


def kinds_plot(entries: Profiled, title: str) -> bytes:
    """A stacked bar per entry: the profiled milliseconds of each op kind, and the measured p50 beside it."""
    kinds = _kinds(entries)

    def draw(ax: Any) -> None:
        positions = np.arange(len(entries))
        bottom = np.zeros(len(entries))
        for kind in kinds:
            ms = np.array([(as_digest(p)["by_kind"].get(kind) or {}).get("ms", 0.0) for _, p in entries])
            ax.bar(positions, ms, 0.6, bottom=bottom, label=kind, color=COLORS[kind])
            bottom += ms
        p50 = [as_digest(p).get("p50_ms") or np.nan for _, p in entries]
        ax.scatter(positions, p50, marker="_", s=500, color="black", zorder=3, label="measured p50")
        ax.set_xticks(positions, [label for label, _ in entries], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("profiled time per inference (ms)")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))

    return figure_png(draw)


def kinds_table(entries: Profiled) -> Table:
    """Per entry: its measured p50, the profiled sum, the roofline efficiency and each kind's ms (share,
    efficiency against its bound)."""
    kinds = _kinds(entries)
    rows = []
    for label, profile in entries:
        found = as_digest(profile)
        roof = found["roofline"] or {}
        cells = []
        for kind in kinds:
            entry = found["by_kind"].get(kind)
            cells.append(
                "-" if entry is None else f"{entry['ms']:.3f} ({entry['share']:.0%}, {_percent(entry['efficiency'])})"
            )
        rows.append(
            [
                label,
                f"{found['p50_ms']:.3f}" if found.get("p50_ms") else "-",
                f"{found['profiled_ms']:.3f}" + (f" ({found['coverage']:.2f}x)" if found.get("coverage") else ""),
                _percent(roof.get("efficiency")),
                roof.get("loses_most") or "-",
                *cells,
            ]
        )
    headers = ["candidate", "p50 ms", "ops sum ms (/ p50)", "roofline efficiency", "loses most"]
    return [*headers, *(f"{kind} ms (share, efficiency)" for kind in kinds)], rows


def slowest_table(profile: dict[str, Any]) -> Table:
    """The slowest layers of one profile: time, achieved rates, what bounds them and how close they come."""
    rows = [
        [
            layer["name"],
            layer["op_type"],
            layer["kind"],
            f"{layer['ms']:.3f}",
            f"{layer['gmacs']:.1f}" if layer["gmacs"] else "-",
            f"{layer['gbs']:.1f}" if layer["gbs"] else "-",
            layer["limit"] or "-",
            _percent(layer["efficiency"]),
            str(layer["fused"]),
        ]
        for layer in as_digest(profile)["slowest"]
    ]
    return ["layer", "op", "kind", "ms", "GMAC/s", "GB/s", "bound", "efficiency", "nodes fused in"], rows


def kind_rates(profiles: Iterable[dict[str, Any]]) -> dict[str, tuple[float, str]]:
    """Per op kind over ``profiles``: the achieved rate (GMAC/s where the kind does MACs, else GB/s) and its unit."""
    totals: dict[str, dict[str, float]] = {}
    for profile in profiles:
        for kind, entry in as_digest(profile)["by_kind"].items():
            total = totals.setdefault(kind, {"ms": 0.0, "macs": 0.0, "bytes": 0.0})
            for key in total:
                total[key] += entry[key]
    rates = {}
    for kind, total in totals.items():
        found = rate(total["macs"], total["ms"])
        unit = "GMAC/s" if found else "GB/s"
        found = found or rate(total["bytes"], total["ms"])
        if found:
            rates[kind] = (found, unit)
    return rates


def fastest_kind_table(lanes: dict[str, list[dict[str, Any]]]) -> Table:
    """Per op kind: each lane's achieved rate over its profiled candidates, and the lane that runs it fastest."""
    rates = {lane: kind_rates(profiles) for lane, profiles in lanes.items() if profiles}
    rows = []
    for kind in KINDS:
        found = {lane: by_kind[kind] for lane, by_kind in rates.items() if kind in by_kind}
        if not found:
            continue
        unit = next(iter(found.values()))[1]
        best = max(found, key=lambda lane: found[lane][0] if found[lane][1] == unit else 0.0)
        cells = [f"{found[lane][0]:.1f}" if lane in found and found[lane][1] == unit else "-" for lane in rates]
        rows.append([kind, unit, *cells, best])
    return ["op kind", "unit", *rates, "fastest"], rows


def depthwise_share(profiles: list[dict[str, Any]]) -> str:
    """The median share of profiled time in depthwise convolutions, as a table cell ("-" without profiles)."""
    return _percent(float(np.median([kind_share(p, "depthwise conv") for p in profiles]))) if profiles else "-"


def profile_sections(entries: Profiled, slowest: tuple[str, dict[str, Any]] | None) -> dict[str, Table]:
    """The per-op-kind table of ``entries`` and the slowest layers of one of them."""
    if not entries:
        return {}
    found = {KINDS_TITLE: kinds_table(entries)}
    if slowest is not None:
        found[f"Slowest layers of {slowest[0]}"] = slowest_table(slowest[1])
    return found


def slowest_of(chosen: dict[str, Any] | None, entries: Profiled) -> tuple[str, dict[str, Any]] | None:
    """Whose slowest layers a report lists: the chosen candidate's when it was profiled, else the first entry's."""
    if chosen and chosen.get("profile"):
        return chosen["artifact_name"], chosen["profile"]
    return entries[0] if entries else None
