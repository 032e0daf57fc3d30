"""The report of stored measurements (``edgeconv report --bench ID ...``): each one's latency and, where it was
taken with ``--profile``, where its time goes, its slowest layers against their roofline bound and, across
several, which of them runs each op kind fastest."""

from __future__ import annotations

from pathlib import Path

from edgeconv.report.page import Page, Table
from edgeconv.report.profiles import KINDS_TITLE, fastest_kind_table, kinds_plot, kinds_table, slowest_table
from edgeconv.runtime.result import BenchResult

Measured = list[tuple[int, BenchResult]]  # (row id, the stored record)


def label(row_id: int, result: BenchResult) -> str:
    """``#12 mobilenetv2_w0.75_r224_int8.onnx (onnxruntime, 1 thread)``."""
    threads = result.backend.get("settings", {}).get("threads")
    return f"#{row_id} {result.artifact['name']} ({result.backend['name']}, {threads} thread(s))"


def _latency_table(measured: Measured) -> Table:
    rows = []
    for row_id, result in measured:
        stats = result.latency_ms
        roof = (result.profile or {}).get("roofline") or {}
        rows.append(
            [
                f"#{row_id}",
                result.artifact["name"],
                f"{result.artifact['format']} {result.artifact['precision']}",
                result.backend["name"],
                f"{stats.p50:.3f}",
                f"{stats.p90:.3f}",
                str(result.runs),
                "noisy" if result.noisy else "ok",
                f"{roof['efficiency']:.0%}" if roof.get("efficiency") is not None else "-",
                result.device.get("hostname") or result.device["device_id"],
                result.timestamp,
            ]
        )
    headers = ["id", "artifact", "format", "runtime", "p50 ms", "p90 ms", "runs", "spread", "roofline efficiency"]
    return [*headers, "device", "measured at"], rows


def write_measurements(measured: Measured, out: Path) -> tuple[Path, Path]:
    """Write the report of ``measured`` to ``out`` (.html) and its Markdown twin; returns both paths."""
    entries = [(label(row_id, result), result.profile) for row_id, result in measured if result.profile]
    verdicts = []
    for row_id, result in measured:
        roof = (result.profile or {}).get("roofline")
        if result.profile is None:
            verdicts.append(f"#{row_id}: no op profile (measured without --profile)")
        elif roof:
            verdicts.append(
                f"#{row_id}: the layers' roofline bounds sum to {roof['bound_ms']:.3f} ms of the "
                f"{result.latency_ms.p50:.3f} ms p50 (efficiency {roof['efficiency']:.0%}); {roof['loses_most']} "
                "loses most against its bound"
            )
        else:
            verdicts.append(f"#{row_id}: no roofline (no bandwidth or depthwise peak stored: edgeconv info --peak)")
    tables: dict[str, Table] = {"Measurements": _latency_table(measured)}
    if entries:
        tables[KINDS_TITLE] = kinds_table(entries)
        tables |= {f"Slowest layers of {name}": slowest_table(profile) for name, profile in entries}
    if len(entries) > 1:
        tables["Fastest measurement per op kind (achieved rate)"] = fastest_kind_table({n: [p] for n, p in entries})
    names = ", ".join(result.artifact["name"] for _, result in measured)
    return Page(
        title=f"edgeconv measurements: {names}",
        verdicts=verdicts,
        plots={"op_kinds": kinds_plot(entries, "where the time goes")} if entries else {},
        tables=tables,
    ).write(out)
