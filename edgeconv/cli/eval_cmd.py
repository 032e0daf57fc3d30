"""``edgeconv eval``: accuracy of checkpoints and artifacts on held-out data, and agreement with PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from edgeconv.cli.common import db_option, err, json_flag, out, print_json, target_options
from edgeconv.cli.options import compute_options, load_option


def _confusion_table(result: dict[str, Any]) -> Table:
    names = result["class_names"]
    table = Table(title=f"confusion matrix of {Path(result['target']).name} (rows: true, columns: predicted)")
    table.add_column("")
    for name in names:
        table.add_column(name[:8], justify="right")
    for name, row in zip(names, result["confusion"], strict=True):
        table.add_row(name[:12], *(str(v) if v else "." for v in row))
    return table


@click.command("eval")
@click.argument("models", metavar="MODEL...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--data",
    "-d",
    default=None,
    help="'digits' or an ImageFolder directory. [default: the dataset the model was trained on]",
)
@click.option(
    "--reference",
    type=click.Path(dir_okay=False),
    default=None,
    help="PyTorch checkpoint to compare artifacts with. [default: the one they were exported from]",
)
@click.option("--confusion/--no-confusion", default=None, help="Print confusion matrices. [default: for one target]")
@click.option("--no-store", is_flag=True, help="Do not append the results to the results database.")
@load_option
@compute_options
@target_options
@json_flag
@db_option
def eval_command(
    models: tuple[str, ...],
    data: str | None,
    reference: str | None,
    confusion: bool | None,
    no_store: bool,
    load: str,
    device: str,
    workers: int | None,
    targets: tuple[str, ...],
    accept_new_host_key: bool,
    as_json: bool,
    db: str | None,
) -> None:
    """Evaluate checkpoints (.pt) and exported artifacts (.onnx) on the held-out split.

    Reports top-1, top-5 and the confusion matrix; for artifacts also the top-1 agreement and logit error
    against the PyTorch checkpoint they came from. Artifacts run through edgeconv.runtime, as on a device:
    on a device without torch, `edgeconv eval MODEL --data DIR` works and skips the PyTorch comparison.
    With --target, artifacts run on that board (the held-out images are prepared here and copied once), and
    their predictions are also compared with this machine's run of the same file. Checkpoints run on --device
    (artifacts run on the CPU, as on a board).
    """
    from edgeconv.evaluate import DataCache, evaluate
    from edgeconv.results import open_store
    from edgeconv.targets import board, get_target
    from edgeconv.targets.fleet import expand

    cache = DataCache(data, load, device, workers)
    results = []
    boards = []
    for spec in expand(targets):
        remote = None
        if spec != "local":
            found = get_target(spec, accept_new_host_key)
            message = f"eval runs artifacts through edgeconv's runtime: {found.name} has none (use ssh)"
            remote = board(found, "eval", message)
        boards.append(remote)
        for model in models:
            where = f" on {remote.name}" if remote else ""
            with err.status(f"evaluating {Path(model).name}{where}..."):
                results.append(evaluate(model, cache, reference, remote.logits if remote else None))
    on_board = any(boards)
    if not no_store:
        with open_store(db) as store:
            for result in results:
                store.add_evaluation(result)
    records = [r.to_dict() for r in results]
    if as_json:
        print_json(records)
        return
    table = Table(title=f"held-out accuracy ({records[0]['num_images']} images of {records[0]['dataset']['kind']})")
    hosts = sorted({str(r.device["hostname"]) for r in results if r.device})
    table.title = str(table.title) + (f" on {', '.join(hosts)}" if hosts else "")
    columns = ["model", "device", "kind", "format", "precision", "top-1", "top-5", "agree top-1", "max |logit diff|"]
    if on_board:
        columns.append("agree with this machine")
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("model", "device", "kind", "format", "precision") else "right"
        )
    for r in records:
        agree = r["agreement"] if r["agreement"] and "top1_agreement" in r["agreement"] else {}
        table.add_row(
            Path(r["target"]).name,
            str((r["device"] or {}).get("target") or (r["device"] or {}).get("hostname", "-")),
            r["kind"],
            r["format"],
            r["precision"],
            f"{r['top1']:.2%}",
            f"{r['top5']:.2%}",
            f"{agree['top1_agreement']:.2%}" if agree else "-",
            f"{agree['max_abs_logit_diff']:.2e}" if agree else "-",
            *([f"{r['workstation_agreement']['top1_agreement']:.2%}"] if on_board else []),
        )
    out.print(table)
    if confusion or (confusion is None and len(records) == 1):
        for r in records:
            out.print(_confusion_table(r))
