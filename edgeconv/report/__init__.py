"""Reports of sweeps, one module per kind, each a :class:`~edgeconv.report.page.Page` written once as HTML,
Markdown and PNGs: ``single`` (``OUT/sweep.json``), ``lanes`` (``OUT/lanes.json``: families, formats,
precisions) and ``fleet`` (``OUT/fleet.json``: one sweep per device). :func:`write_report` picks the writer by
the summary's kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeconv.errors import EdgeconvError

SUMMARY_FILES = {"fleet": "fleet.json", "lanes": "lanes.json", "single": "sweep.json"}  # the order they are looked for


def writers() -> dict[str, Callable[[dict[str, Any], Path], tuple[Path, Path]]]:
    """Report kind -> its writer (imported here: matplotlib loads only when a report is written)."""
    from edgeconv.report.fleet import write_fleet
    from edgeconv.report.lanes import write_lanes
    from edgeconv.report.single import write_single

    return {"single": write_single, "lanes": write_lanes, "fleet": write_fleet}


def kind_of(summary: dict[str, Any]) -> str:
    """``single``, ``lanes`` or ``fleet``: what a summary records (sweep.json of older runs has no kind)."""
    return str(summary.get("kind", "single"))


def load_summary(sweep_dir: Path) -> dict[str, Any]:
    """The summary a sweep left in its ``--out`` directory: fleet.json, lanes.json or sweep.json."""
    for name in SUMMARY_FILES.values():
        if (sweep_dir / name).is_file():
            return dict(json.loads((sweep_dir / name).read_text()))
    raise EdgeconvError(
        f"{sweep_dir / 'sweep.json'} does not exist: is {sweep_dir} the --out directory of a finished sweep?"
    )


def write_report(summary: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write the report of ``summary``'s kind to ``out`` (.html) and its Markdown twin; returns both paths."""
    kind = kind_of(summary)
    table = writers()
    if kind not in table:
        raise EdgeconvError(f"unknown report kind {kind!r} (kinds: {', '.join(table)})")
    return table[kind](summary, out)
