"""``edgeconv report``: the sweep report as a self-contained HTML page and Markdown."""

from __future__ import annotations

import json
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
    help="A sweep's output directory (its sweep.json). [default: the latest sweep in the database]",
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
    front and budget marked), the device fingerprint and the measurement settings."""
    from edgeconv.report import write_fleet_report, write_report
    from edgeconv.results import open_store

    if sweep_dir and (Path(sweep_dir) / "fleet.json").is_file():
        html_path, markdown_path = write_fleet_report(
            json.loads((Path(sweep_dir) / "fleet.json").read_text()), Path(out_path)
        )
        err.print(f"wrote {html_path} and {markdown_path}")
        return
    if sweep_dir:
        path = Path(sweep_dir) / "lanes.json"
        path = path if path.is_file() else Path(sweep_dir) / "sweep.json"
        if not path.is_file():
            raise EdgeconvError(f"{path} does not exist: is {sweep_dir} the --out directory of a finished sweep?")
        summary = json.loads(path.read_text())
    else:
        with open_store(db, create=False) as store:
            summary = store.latest_sweep()
        if summary is None:
            raise EdgeconvError("no finished sweep in the results database (run `edgeconv sweep` or pass --sweep DIR)")
    if summary.get("kind") == "lanes":
        from edgeconv.report_lanes import write_lanes_report

        html_path, markdown_path = write_lanes_report(summary, Path(out_path))
    else:
        html_path, markdown_path = write_report(summary, Path(out_path))
    err.print(f"wrote {html_path} and {markdown_path}")
