"""``edgeconv sweep``: find, by measurement on the target, the most accurate width that meets a budget."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from edgeconv.cli.common import (
    FiniteFloatRange,
    db_option,
    err,
    int8_scheme_option,
    json_flag,
    out,
    print_json,
    stat_option,
    target_options,
)
from edgeconv.errors import EdgeconvError, require
from edgeconv.runtime.formats import PRECISIONS, list_formats
from edgeconv.staging import recover

if TYPE_CHECKING:
    from edgeconv.sweep import SweepConfig


def print_selection(selection: dict[str, Any]) -> None:
    """The candidates table and the verdict."""
    stat = selection["stat"]
    chosen = (selection["chosen"] or {}).get("artifact_sha256")
    table = Table(title=f"candidates against {selection['budget_ms']:g} ms {stat}")
    for column in ("artifact", "width", "px", "top-1", f"{stat} ms", "MB", ""):
        table.add_column(column, justify="left" if column in ("artifact", "") else "right")
    for c in selection["candidates"]:
        mark = (
            "chosen"
            if c["artifact_sha256"] == chosen
            else ("fits" if c["artifact_sha256"] in selection["fitting"] else "over budget")
        )
        table.add_row(
            c["artifact_name"],
            f"{c['width']:g}",
            str(c["resolution"]),
            f"{c['top1']:.2%}",
            f"{c['latency_ms'][stat]:.3f}",
            f"{c['size_bytes'] / 1e6:.2f}",
            mark,
        )
    out.print(table)
    out.print(("[green]selected[/]: " if chosen else "[red]no selection[/]: ") + selection["reason"])


def print_lanes(summary: dict[str, Any]) -> None:
    """One row per lane: what it chose, or how far over budget its fastest width is, and its cost per unit of
    work and size on this target; then the fastest lane per width and the int8 verdicts."""
    from edgeconv.fastest import int8_sentence
    from edgeconv.report_lanes import lane_label

    stat = summary["config"]["stat"]
    table = Table(title=f"lanes on {summary['target']} against {summary['config']['budget_ms']:g} ms {stat}")
    columns = ("lane", "group", "best within budget", "top-1", f"{stat} ms", "fastest ms", "ms/GMAC", "ms/M params")
    for column in columns:
        table.add_column(column, justify="left" if column in ("lane", "group", "best within budget") else "right")
    for entry in summary["lanes"]:
        chosen, efficiency = entry["chosen"], entry["efficiency"]
        verdict = chosen["artifact_name"] if chosen else ("over budget at every width" if not entry["fits"] else "-")
        table.add_row(
            lane_label(entry, summary),
            entry["group"],
            verdict,
            f"{chosen['top1']:.2%}" if chosen else "-",
            f"{chosen['latency_ms'][stat]:.3f}" if chosen else "-",
            f"{efficiency['fastest']['latency_ms']:.3f}",
            f"{efficiency['ms_per_gmac']:.2f}",
            f"{efficiency['ms_per_mparam']:.3f}",
        )
    out.print(table)
    for verdict in summary["int8_vs_fp32"]:
        out.print(int8_sentence(verdict))


def print_fleet(fleet: dict[str, Any]) -> None:
    """One row per device: what it chose."""
    table = Table(title="the fleet: one sweep per device")
    for column in ("target", "device", "chosen", "top-1", "p90 ms"):
        table.add_column(column)
    for device in fleet["devices"]:
        chosen = device.get("chosen") or {}
        table.add_row(
            device["target"],
            device.get("device_id", "-"),
            chosen.get("artifact_name") or device.get("error", "nothing fits"),
            f"{chosen['top1']:.2%}" if chosen else "-",
            f"{chosen['latency_ms']['p90']:.3f}" if chosen else "-",
        )
    out.print(table)


def _out_lock(out_dir: Path) -> Any:
    """One sweep at a time in an output directory: a second one refuses at once, in one line."""
    from edgeconv.runtime.lock import file_lock

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgeconvError(f"cannot create --out {out_dir}: {exc.strerror}") from None
    lock = out_dir / ".sweep.lock"
    return file_lock(
        lock, 0, f"another sweep is writing to {out_dir} (lock {lock}): wait for it, or give another --out"
    )


def sweep_config(
    model: str,
    budget_ms: float,
    stat: str,
    widths: str | None,
    width_range: str | None,
    resolutions: str,
    fmt: str,
    precision: str,
    int8_scheme: str,
    threads: int,
    data: str,
    epochs: int,
    weights: str | None,
    distil: bool,
    remeasure: bool,
    runs: int,
    min_seconds: float,
    cooldown: float = 0.0,
    max_temp: float | None = None,
) -> SweepConfig:
    """The SweepConfig that these `edgeconv sweep` options describe (names parsed: models, formats,
    precisions). ``model``, ``fmt`` and ``precision`` may each name several (comma lists, a group of models,
    ``all``): the config then holds their comma-separated lists, one lane per combination, which
    :func:`edgeconv.sweep.plan_sweep` checks."""
    from edgeconv.models.registry import parse_models
    from edgeconv.plan import parse_formats, parse_precisions
    from edgeconv.runtime.bench import BenchSettings
    from edgeconv.sweep import SweepConfig
    from edgeconv.sweep.space import parse_resolutions, parse_widths

    families = parse_models(model)
    formats, precisions = parse_formats(fmt), parse_precisions(precision)
    return SweepConfig(
        model=",".join(families),
        budget_ms=budget_ms,
        widths=parse_widths(widths, width_range),
        resolutions=parse_resolutions(resolutions),
        stat=stat,
        format=",".join(formats),
        precision=",".join(precisions),
        int8_scheme=int8_scheme,
        threads=threads,
        data=data,
        epochs=epochs,
        weights=weights,
        distil=distil,
        remeasure=remeasure,
        bench=BenchSettings(runs=runs, min_seconds=min_seconds),
        cooldown_s=cooldown,
        max_temp_c=max_temp,
    )


@click.command("sweep")
@click.option(
    "--model",
    "-m",
    required=True,
    help="Model family, several (mobilenetv2,mnasnet,resnet18) or a group (edge, baseline); see `edgeconv models`.",
)
@click.option(
    "--baseline",
    default=None,
    help="With several models: the one marked as baseline in tables and plots [default: the first classic baseline].",
)
@click.option("--budget-ms", type=FiniteFloatRange(min=0, min_open=True), required=True, help="Latency budget.")
@stat_option
@click.option("--widths", default=None, help="Candidate widths, e.g. 0.35,0.5,0.75,1.0,1.4 (the default).")
@click.option("--width-range", default=None, help="Candidate widths LOW:HIGH in steps of 0.05, e.g. 0.25:1.4.")
@click.option("--resolutions", default="224", show_default=True, help="Candidate input sizes, e.g. 224,192,160.")
@click.option(
    "--format",
    "-f",
    "fmt",
    default="tflite",
    show_default=True,
    help=f"Formats to sweep, comma-separated: {', '.join(list_formats())}, or all.",
)
@click.option(
    "--precision",
    "-p",
    default="int8",
    show_default=True,
    help=f"Precisions to sweep, comma-separated: {', '.join(PRECISIONS)}, or all (each format makes what it can).",
)
@int8_scheme_option
@click.option("--threads", "-t", type=click.IntRange(min=1), default=1, show_default=True)
@target_options
@click.option("--data", "-d", default="digits", show_default=True, help="'digits' or an ImageFolder directory.")
@click.option("--epochs", "-e", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="Fine-tune every candidate from these pretrained weights (same family and width as the file).",
)
@click.option("--distil", is_flag=True, help="Train the widest finalist first and distil the others from it.")
@click.option("--remeasure", is_flag=True, help="Measure again even when the database has a result.")
@click.option("--runs", type=click.IntRange(min=1), default=50, show_default=True, help="Minimum measured runs.")
@click.option("--min-seconds", type=FiniteFloatRange(min=0), default=1.0, show_default=True)
@click.option(
    "--cooldown",
    type=FiniteFloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Idle this long before each measurement.",
)
@click.option(
    "--max-temp",
    type=FiniteFloatRange(min=0, min_open=True),
    default=None,
    help="Wait until the device is at most this hot (C) before each measurement; hotter results are not used.",
)
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False), default="runs/sweep", show_default=True)
@json_flag
@db_option
@click.pass_context
def sweep_command(
    ctx: click.Context,
    targets: tuple[str, ...],
    accept_new_host_key: bool,
    out_dir: str,
    as_json: bool,
    db: str | None,
    baseline: str | None,
    **options: Any,
) -> None:
    """Find the most accurate width (and resolution) whose latency on the target meets the budget.

    Latency is searched on random-weight probes (coarse grid, a latency model fitted on the measured points,
    then bisection); only the finalists are trained, exported, evaluated and measured. The chosen artifact
    is copied to OUT/selected/. Everything is stored in the results database: an interrupted sweep resumes,
    and a repeated one reuses measurements unless --remeasure. With several --target (or a group), each
    device gets its own sweep in OUT/<target>/, all at once, and OUT/fleet.json lists them (`edgeconv report
    --sweep OUT` puts the devices side by side).

    With several models, formats or precisions, each combination (a lane) is searched on the target in
    OUT/[<family>/][<format>-<precision>/] (one whose narrowest width is over budget is reported with its
    fastest latency and not trained; a family's lanes share its trained widths), then one selection and one
    Pareto front is made across all of them; OUT/lanes.json records it, with each lane's measured ms per
    GMAC, the fastest runtime and precision at each width, and where int8 is slower than fp32.

    \b
    Example:
      edgeconv sweep --model mobilenetv2 --budget-ms 20 --width-range 0.25:1.4 --resolutions 224,160
      edgeconv sweep --model mobilenetv2,mnasnet,efficientnet_lite0,resnet18 --budget-ms 5 --resolutions 64
      edgeconv sweep --model mobilenetv2 --format all --precision fp32,int8 --budget-ms 3
    """
    require("torch", "host", "edgeconv sweep")
    from edgeconv.results import open_store
    from edgeconv.sweep import plan_sweep, run_sweep
    from edgeconv.targets import get_target
    from edgeconv.targets.fleet import expand

    plan = plan_sweep(sweep_config(**options), baseline)
    specs = expand(targets)
    if len(specs) > 1:
        from edgeconv.sweep.fleet import run_fleet

        fleet = run_fleet(ctx, specs, Path(out_dir), err.print)
        print_json(fleet) if as_json else print_fleet(fleet)
        if any("error" in device for device in fleet["devices"]):
            raise EdgeconvError(f"{sum('error' in d for d in fleet['devices'])} of {len(specs)} device sweeps failed")
        return
    chosen_target = get_target(specs[0], accept_new_host_key)
    for note in plan.notes:  # only once every option is known good: an error is one line
        err.print(f"note: {note}")
    with _out_lock(Path(out_dir)), open_store(db) as store, err.status("sweeping...") as status:

        def log(message: str) -> None:
            err.print(message)
            status.update(f"sweeping... {message}")

        for line in recover(Path(out_dir), recursive=True):
            log(line)
        summary = run_sweep(plan, Path(out_dir), store, chosen_target, log)
    if as_json:
        print_json(summary)
        return
    if len(plan.lanes) > 1:
        print_lanes(summary)
        print_selection(summary["selection"])
        err.print(f"summary in {Path(out_dir) / 'lanes.json'}; `edgeconv report --sweep {out_dir}` for the report")
        return
    print_selection(summary["selection"])
    fit = summary["latency_model"]
    err.print(
        f"{summary['measurements']} latency probes for {summary['exhaustive_measurements']} configurations "
        f"({summary['reused_measurements']} measurements reused); latency model {fit['formula']}: leave-one-out "
        f"median error {fit['loo_median_abs_error'] or 0:.1%}; summary in {Path(out_dir) / 'sweep.json'}"
    )
