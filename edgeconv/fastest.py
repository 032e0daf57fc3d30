"""Which runtime and precision is fastest on a device: the lanes of a sweep compared width by width.

Each lane (family, format, precision) of a sweep measured some widths and fitted a latency model that predicts
the rest; here the lanes of one family are compared at every width (measured values preferred), and int8 is
set against fp32 in the same format, so that a report can say plainly where int8 does not pay off.
"""

from __future__ import annotations

from typing import Any


def lane_latencies(entry: dict[str, Any]) -> dict[tuple[int, float], tuple[float, bool]]:
    """(resolution, width) -> (latency ms, measured?) of one lane: its probes where measured, else its fitted
    latency model's prediction."""
    found: dict[tuple[int, float], tuple[float, bool]] = {}
    for curve in entry["model_curve"]:
        for width, predicted in zip(curve["widths"], curve["predicted_ms"], strict=True):
            if predicted is not None:
                found[(curve["resolution"], width)] = (float(predicted), False)
    for probe in entry["probes"]:
        found[(probe["resolution"], probe["width"])] = (float(probe["latency_ms"]), True)
    return found


def fastest_per_width(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per family, resolution and width: every lane's latency (measured, else predicted) and the fastest."""
    rows: dict[tuple[str, int, float], dict[str, Any]] = {}
    for entry in entries:
        for (resolution, width), (ms, measured) in lane_latencies(entry).items():
            row = rows.setdefault(
                (entry["family"], resolution, width),
                {"family": entry["family"], "resolution": resolution, "width": width, "lanes": {}},
            )
            row["lanes"][f"{entry['format']}-{entry['precision']}"] = {"latency_ms": ms, "measured": measured}
    for row in rows.values():
        row["fastest"] = min(row["lanes"], key=lambda lane: row["lanes"][lane]["latency_ms"])
    return [rows[key] for key in sorted(rows)]


def int8_vs_fp32(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per family and format with both an fp32 and an int8 lane: int8's speed-up over fp32 at the widths both
    measured (else predicted), and the widths where int8 is slower."""
    verdicts = []
    by_lane = {(e["family"], e["format"], e["precision"]): e for e in entries}
    for (family, fmt, precision), int8 in by_lane.items():
        fp32 = by_lane.get((family, fmt, "fp32"))
        if precision != "int8" or fp32 is None:
            continue
        a, b = lane_latencies(fp32), lane_latencies(int8)
        shared = sorted(set(a) & set(b))
        both_measured = [k for k in shared if a[k][1] and b[k][1]]
        keys = both_measured or shared
        if not keys:
            continue
        speedups = {k: a[k][0] / b[k][0] for k in keys}
        slower = [k for k in keys if speedups[k] < 1.0]
        verdicts.append(
            {
                "family": family,
                "format": fmt,
                "int8_scheme": int8.get("int8_scheme"),
                "compared_at": [{"resolution": r, "width": w, "int8_speedup": speedups[(r, w)]} for r, w in keys],
                "measured": bool(both_measured),
                "int8_slower_at": [{"resolution": r, "width": w} for r, w in slower],
                "int8_slower": len(slower) == len(keys),
            }
        )
    return verdicts


def int8_sentence(verdict: dict[str, Any]) -> str:
    """One plain sentence on whether int8 pays off for a family in a format on this target."""
    speedups = [c["int8_speedup"] for c in verdict["compared_at"]]
    spread = f"{min(speedups):.2f}-{max(speedups):.2f}x"
    source = "measured" if verdict["measured"] else "predicted by the latency models"
    where = f"{verdict['family']} in {verdict['format']} (int8 scheme {verdict['int8_scheme']})"
    if verdict["int8_slower"]:
        return f"int8 is SLOWER than fp32 for {where} at every width compared ({spread}, {source}): ship fp32 here"
    if verdict["int8_slower_at"]:
        widths = ", ".join(f"w{s['width']:g} r{s['resolution']}" for s in verdict["int8_slower_at"])
        return (
            f"int8 is slower than fp32 for {where} at {widths} ({source}); elsewhere up to {max(speedups):.2f}x faster"
        )
    return f"int8 is faster than fp32 for {where} at every width compared ({spread}, {source})"
