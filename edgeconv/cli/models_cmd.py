"""``edgeconv models``: every model family with its parameters and multiply-accumulates."""

from __future__ import annotations

import click
from rich.table import Table

from edgeconv.cli.common import json_flag, out, print_json
from edgeconv.errors import require


@click.command("models")
@click.option("--width", type=float, default=1.0, show_default=True, help="Width multiplier, any value in (0, 2].")
@click.option("--resolution", type=int, default=None, help="Input size in pixels (default: each family's native).")
@click.option("--num-classes", type=int, default=1000, show_default=True, help="Classifier outputs.")
@json_flag
def models_command(width: float, resolution: int | None, num_classes: int, as_json: bool) -> None:
    """List the model families with parameter count and MACs at a width and resolution."""
    require("torch", "host", "edgeconv models")
    from edgeconv.models import list_models, model_info
    from edgeconv.models.registry import get_spec

    infos = [model_info(name, width, resolution, num_classes) for name in list_models()]
    if as_json:
        print_json([{**info.__dict__, "description": get_spec(info.name).description} for info in infos])
        return
    table = Table(title=f"edgeconv models at width {width:g}")
    for column in ("model", "resolution", "params (M)", "MACs (M)", "description"):
        table.add_column(column, justify="left" if column in ("model", "description") else "right")
    for info in infos:
        table.add_row(
            info.name,
            str(info.resolution),
            f"{info.params / 1e6:.3f}",
            f"{info.macs / 1e6:.1f}",
            get_spec(info.name).description,
        )
    out.print(table)
