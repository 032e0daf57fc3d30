"""``edgeconv models``: the model families by group, with widths, parameters and multiply-accumulates."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from edgeconv.cli.common import json_flag, out, print_json
from edgeconv.errors import UsageError, require


def _row(name: str, width: float, resolution: int | None, num_classes: int) -> dict[str, Any]:
    """One family's entry; a width or resolution the family cannot take is reported, not raised."""
    from edgeconv.models import model_info
    from edgeconv.models.registry import get_spec

    spec = get_spec(name)
    entry: dict[str, Any] = {
        "name": name,
        "group": spec.group,
        "widths": list(spec.widths) or spec.width_range,
        "native_resolution": spec.default_resolution,
        "min_resolution": spec.min_resolution,
        "description": spec.description,
        "pretrained": [
            {"weights": w.tag, "width": w.width, "url": w.url, "sha256": w.sha256, "layout": w.layout}
            for w in spec.weights
        ],
    }
    try:
        info = model_info(name, width, resolution, num_classes)
    except UsageError as exc:
        return {**entry, "error": str(exc)}
    return {**entry, "width": info.width, "resolution": info.resolution, "params": info.params, "macs": info.macs}


@click.command("models")
@click.option("--width", type=float, default=1.0, show_default=True, help="Width multiplier, any value in (0, 2].")
@click.option("--resolution", type=int, default=None, help="Input size in pixels (default: each family's native).")
@click.option("--num-classes", type=int, default=1000, show_default=True, help="Classifier outputs.")
@click.option(
    "--group",
    type=click.Choice(["edge", "baseline"]),
    default=None,
    help="Only edge networks or only the classic baselines (default: both).",
)
@click.option(
    "--weights", "list_weights", is_flag=True, help="List the published pretrained files --weights can name instead."
)
@json_flag
def models_command(
    width: float, resolution: int | None, num_classes: int, group: str | None, list_weights: bool, as_json: bool
) -> None:
    """List the model families, edge networks first, then the classic baselines: the widths each is defined
    at, and parameters and MACs at --width and --resolution. With --weights: the published pretrained files
    that fit each family (what `--weights imagenet` or `--weights SOURCE:NAME` loads), and whether each is in
    the torch hub cache already."""
    require("torch", "host", "edgeconv models")
    from edgeconv.models import list_models
    from edgeconv.models.registry import GROUPS, check_num_classes, check_resolution, check_width

    check_width(width), check_num_classes(num_classes)  # wrong for every family: one line, not a table of errors
    if resolution is not None:
        check_resolution(resolution)
    rows = [_row(name, width, resolution, num_classes) for g in GROUPS if group in (None, g) for name in list_models(g)]
    if list_weights:
        _print_weights(rows, as_json)
        return
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"edgeconv models at width {width:g}")
    for column in ("group", "model", "widths", "px", "params (M)", "MACs (M)", "description"):
        table.add_column(column, justify="right" if column in ("px", "params (M)", "MACs (M)") else "left")
    previous = None
    for row in rows:
        if previous is not None and row["group"] != previous:
            table.add_section()
        widths = ", ".join(f"{w:g}" for w in row["widths"]) if isinstance(row["widths"], list) else row["widths"]
        cells = (
            [str(row["resolution"]), f"{row['params'] / 1e6:.3f}", f"{row['macs'] / 1e6:.1f}", row["description"]]
            if "error" not in row
            else ["-", "-", "-", f"[yellow]{row['error']}[/]"]
        )
        table.add_row(row["group"] if row["group"] != previous else "", row["name"], widths, *cells)
        previous = row["group"]
    out.print(table)


def _print_weights(rows: list[dict[str, Any]], as_json: bool) -> None:
    """The published files of every listed family, best first, with their place in the torch hub cache."""
    from edgeconv.models.registry import get_spec
    from edgeconv.train.hub import cache_path

    files = [
        {"model": row["name"], **entry, "cache": str(cache_path(spec)), "cached": cache_path(spec).is_file()}
        for row in rows
        for entry, spec in zip(row["pretrained"], get_spec(row["name"]).weights, strict=True)
    ]
    if as_json:
        print_json(files)
        return
    table = Table(title="published pretrained weights (--weights imagenet takes the first that is wide enough)")
    for column in ("model", "--weights", "width", "sha256", "cached"):
        table.add_column(column, justify="right" if column == "width" else "left")
    for f in files:
        table.add_row(f["model"], f["weights"], f"{f['width']:g}", f["sha256"], "yes" if f["cached"] else "no")
    out.print(table)
