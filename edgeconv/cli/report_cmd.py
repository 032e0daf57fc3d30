"""``edgeconv report``: the report of a sweep, or of stored measurements, as a self-contained HTML page, Markdown
and PNG plots."""

from __future__ import annotations

from pathlib import Path

import click

from edgeconv.cli.common import db_option, err
from edgeconv.errors import EdgeconvError, UsageError


@click.command("report")
@click.option(
    "--sweep",
    "sweep_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="A sweep's output directory (its sweep.json, lanes.json or fleet.json). [default: the latest sweep in "
    "the database]",
)
@click.option(
    "--bench",
    "bench_ids",
    type=click.IntRange(min=1),
    metavar="ID",
    multiple=True,
    help="Instead of a sweep: stored measurements by id (see `edgeconv results`; repeat for several). Those taken "
    "with `bench --profile` show where the time goes and, side by side, which runs each op kind fastest.",
)
@click.option(
    "--out",
    "-o",
    "out_path",
    type=click.Path(dir_okay=False),
    default="report.html",
    show_default=True,
    help="HTML file to write; the Markdown version and its plots go next to it.",
)
@db_option
def report_command(sweep_dir: str | None, bench_ids: tuple[int, ...], out_path: str, db: str | None) -> None:
    """Write the report of a sweep: candidate table, latency-vs-width and accuracy-vs-latency plots (Pareto
    front and budget marked), the device fingerprint and the measurement settings; for a sweep across lanes
    (families, formats, precisions) or devices, the lanes or devices side by side, each with its own report.
    Candidates of a `sweep --profile` also get where their time goes per op kind (a stacked bar per candidate),
    the slowest layers against their roofline bound and which lane runs each op kind fastest.

    With --bench ID: the same for stored measurements (`edgeconv results` lists their ids)."""
    from edgeconv.report import load_summary, write_report
    from edgeconv.results import open_store

    if bench_ids:
        if sweep_dir:
            raise UsageError("give --sweep or --bench, not both")
        from edgeconv.report.measurement import write_measurements

        with open_store(db, create=False) as store:
            measured = [(row_id, store.bench_result(row_id)) for row_id in dict.fromkeys(bench_ids)]
        html_path, markdown_path = write_measurements(measured, Path(out_path))
        err.print(f"wrote {html_path} and {markdown_path}")
        return
    if sweep_dir:
        summary = load_summary(Path(sweep_dir))
    else:
        with open_store(db, create=False) as store:
            found = store.latest_sweep()
        if found is None:
            raise EdgeconvError("no finished sweep in the results database (run `edgeconv sweep` or pass --sweep DIR)")
        summary = found
    html_path, markdown_path = write_report(summary, Path(out_path))
    err.print(f"wrote {html_path} and {markdown_path}")
