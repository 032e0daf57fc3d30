"""``edgeconv select``: the most accurate stored candidate that meets a latency budget."""

from __future__ import annotations

from typing import Any

import click

from edgeconv.cli.common import FiniteFloatRange, db_option, err, json_flag, print_json
from edgeconv.cli.options import stat_option, threads_option
from edgeconv.errors import EdgeconvError


@click.command("select")
@click.option(
    "--budget-ms", type=FiniteFloatRange(min=0, min_open=True), required=True, help="Latency budget in milliseconds."
)
@stat_option
@click.option(
    "--target",
    default="local",
    show_default=True,
    help="The device to choose for: local, a stored device id (or its prefix) as `edgeconv results` shows it, or "
    "a target (ssh://..., adb://..., an ssh_config alias), asked for its device id.",
)
@click.option("--model", default=None, help="Only this model family.")
@click.option("--format", "fmt", default=None, help="Only this format.")
@click.option("--precision", default=None, help="Only this precision.")
@threads_option(None, "Only measurements with this many threads.")
@click.option("--include-invalid", is_flag=True, help="Also use measurements taken while throttled or too hot.")
@json_flag
@db_option
def select_command(
    budget_ms: float,
    stat: str,
    target: str,
    model: str | None,
    fmt: str | None,
    precision: str | None,
    threads: int | None,
    include_invalid: bool,
    as_json: bool,
    db: str | None,
) -> None:
    """Pick, from the results database, the most accurate artifact whose latency statistic meets the budget.

    Candidates are artifacts with both an accuracy evaluation and a benchmark on the target; ties on accuracy
    go to the smaller file. Exits 1 when nothing fits, naming the fastest candidate.
    """
    from edgeconv.cli.tables import print_selection
    from edgeconv.results import open_store
    from edgeconv.results_schema import BenchFilter
    from edgeconv.select import candidates, select

    with open_store(db, create=False) as store:
        device = _device_for(target, store)
        found = candidates(store, BenchFilter(device, model, fmt, precision, threads, include_invalid))
        selection = select(found, budget_ms, stat)
    if as_json:
        print_json(selection.to_dict())
    else:
        print_selection(selection.to_dict())
    if selection.chosen is None:
        raise EdgeconvError(selection.reason)


def _device_for(spec: str, store: Any) -> str:
    """The device id ``--target`` names: this machine's for ``local``; a stored device id (or a prefix of one)
    as it is; else a target (``ssh://``, ``adb://`` or an ssh_config alias), asked for its device id, so that
    an alias never silently matches nothing."""
    from edgeconv.runtime.device import device_info
    from edgeconv.targets import get_target

    if spec == "local":
        return str(device_info()["device_id"])
    if "://" not in spec and store.knows_device(spec):
        return spec
    with err.status(f"asking {spec} for its device id..."):
        return get_target(spec).device_id
