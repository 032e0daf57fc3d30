"""``edgeconv report``: the report of a sweep as a self-contained HTML page, Markdown and PNG plots."""

from __future__ import annotations

from pathlib import Path

import click

from edgeconv.cli.common import db_option, err
from edgeconv.errors import EdgeconvError


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
    "--out",
    "-o",
    "out_path",
    type=click.Path(dir_okay=False),
    default="report.html",
    show_default=True,
    help="HTML file to write; the Markdown version and its plots go next to it.",
)
@db_option
def report_command(sweep_dir: str | None, out_path: str, db: str | None) -> None:
    """Write the report of a sweep: candidate table, latency-vs-width and accuracy-vs-latency plots (Pareto
    front and budget marked), the device fingerprint and the measurement settings; for a sweep across lanes
    (families, formats, precisions) or devices, the lanes or devices side by side, each with its own report."""
    from edgeconv.report import load_summary, write_report
    from edgeconv.results import open_store

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
