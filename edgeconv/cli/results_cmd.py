"""``edgeconv results``: list the measurements stored in the results database."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.table import Table

from edgeconv.cli.common import db_option, json_flag, out, print_json


@click.command("results")
@click.option("--model", default=None, help="Only results of this model family.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest N results.")
@click.option("--full", is_flag=True, help="With --json: the complete stored BenchResult records.")
@click.option("--evaluations", is_flag=True, help="List accuracy evaluations instead of latency results.")
@json_flag
@db_option
def results_command(
    model: str | None, limit: int, full: bool, evaluations: bool, as_json: bool, db: str | None
) -> None:
    """List stored benchmark results (or --evaluations), newest first."""
    from edgeconv.results import open_store

    if evaluations:
        _list_evaluations(db, model, limit, as_json)
        return
    with open_store(db) as store:
        rows = store.bench_rows(limit=limit, model=model)
        if as_json:
            print_json([store.bench_result(r.id).to_dict() if full else r.to_dict() for r in rows])
            return
        path = store.path
    if not rows:
        out.print(f"no results in {path}")
        return
    table = Table(title=f"results in {path}", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", justify="right")
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("artifact", overflow="fold", min_width=20)
    table.add_column("backend", no_wrap=True)
    table.add_column("device")
    for column in ("p50 ms", "p90 ms", "runs"):
        table.add_column(column, justify="right")
    table.add_column("noisy")
    for r in rows:
        table.add_row(
            str(r.id),
            r.created_at[5:16].replace("T", " "),
            r.artifact_name,
            f"{r.backend} x{r.threads or '?'}",
            r.hostname or r.device_id[:8],
            f"{r.p50_ms:.3f}",
            f"{r.p90_ms:.3f}",
            str(r.runs),
            "yes" if r.noisy else "",
        )
    out.print(table)


def _list_evaluations(db: str | None, model: str | None, limit: int, as_json: bool) -> None:
    from edgeconv.results import open_store

    with open_store(db) as store:
        records = [r for r in store.evaluations(limit) if model is None or r["model"].get("model") == model]
        path = store.path
    if as_json:
        print_json(records)
        return
    if not records:
        out.print(f"no evaluations in {path}")
        return
    table = Table(title=f"evaluations in {path}", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("id", "when (UTC)", "target", "format", "precision", "data", "images", "top-1", "agree"):
        table.add_column(column, justify="right" if column in ("id", "images", "top-1", "agree") else "left")
    for r in records:
        agree = (r.get("agreement") or {}).get("top1_agreement")
        table.add_row(
            str(r["id"]),
            r["timestamp"][5:16].replace("T", " "),
            Path(r["target"]).name,
            r["format"],
            r["precision"],
            r["dataset"].get("kind", "?"),
            str(r["num_images"]),
            f"{r['top1']:.2%}",
            f"{agree:.2%}" if agree is not None else "-",
        )
    out.print(table)
