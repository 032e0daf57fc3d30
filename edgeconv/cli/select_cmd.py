"""``edgeconv select``: the most accurate stored candidate that meets a latency budget."""

from __future__ import annotations

import click

from edgeconv.cli.common import FiniteFloatRange, db_option, json_flag, print_json
from edgeconv.errors import EdgeconvError


@click.command("select")
@click.option(
    "--budget-ms", type=FiniteFloatRange(min=0, min_open=True), required=True, help="Latency budget in milliseconds."
)
@click.option("--stat", type=click.Choice(["p50", "p90", "p99", "mean"]), default="p90", show_default=True)
@click.option(
    "--target",
    default="local",
    show_default=True,
    help="The device to choose for: local, a target (ssh://..., adb://...; asked for its device id), or a "
    "device id (prefix) as shown by `edgeconv results`.",
)
@click.option("--model", default=None, help="Only this model family.")
@click.option("--format", "fmt", default=None, help="Only this format.")
@click.option("--precision", default=None, help="Only this precision.")
@click.option("--threads", type=int, default=None, help="Only measurements with this many threads.")
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
    from edgeconv.cli.sweep_cmd import print_selection
    from edgeconv.results import open_store
    from edgeconv.runtime.device import device_info
    from edgeconv.select import candidates, select

    if target == "local":
        device = str(device_info()["device_id"])
    elif "://" in target:
        from edgeconv.targets import get_target

        device = get_target(target).device_id
    else:
        device = target
    with open_store(db, create=False) as store:
        found = candidates(store, device, model, fmt, precision, threads, include_invalid=include_invalid)
        selection = select(found, budget_ms, stat)
    if as_json:
        print_json(selection.to_dict())
    else:
        print_selection(selection.to_dict())
    if selection.chosen is None:
        raise EdgeconvError(selection.reason)
