"""``edgeconv sweep``: find, by measurement on the target, the most accurate width that meets a budget."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edgeconv.cli.common import (
    FiniteFloatRange,
    db_option,
    err,
    json_flag,
    print_json,
    target_options,
)
from edgeconv.cli.options import (
    bench_settings_from,
    bench_settings_options,
    compute_options,
    conditions_options,
    int8_options,
    load_option,
    stat_option,
    threads_option,
    train_config_from,
    train_options,
    weights_option,
)
from edgeconv.cli.tables import print_fleet, print_lanes, print_selection
from edgeconv.errors import EdgeconvError, UsageError, require
from edgeconv.runtime.formats import PRECISIONS, list_formats
from edgeconv.staging import recover

if TYPE_CHECKING:
    from edgeconv.runtime.bench import BenchSettings
    from edgeconv.sweep import SweepConfig
    from edgeconv.train import TrainConfig


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
    calib_size: int,
    max_drop: float,
    threads: int,
    data: str,
    weights: str | None,
    distil: bool,
    remeasure: bool,
    bench: BenchSettings | None = None,
    train: TrainConfig | None = None,
    cooldown: float = 0.0,
    max_temp: float | None = None,
    load: str = "auto",
    device: str = "auto",
    workers: int | None = None,
    profile: bool = False,
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
    from edgeconv.train import TrainConfig

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
        calib_size=calib_size,
        max_drop=max_drop,
        threads=threads,
        data=data,
        load=load,
        device=device,
        workers=workers,
        weights=weights,
        distil=distil,
        remeasure=remeasure,
        bench=bench or BenchSettings(),
        train=train or TrainConfig(epochs=10),
        cooldown_s=cooldown,
        max_temp_c=max_temp,
        profile=profile,
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
@int8_options
@threads_option(1, "Inference threads of every measurement.")
@target_options
@click.option(
    "--boards",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With a farm filter (--target labgrid:KEY=VALUE), or that many --target labgrid://PLACE: take this many "
    "boards and spread the measurements over them at once; pooled when their fingerprints agree, else one sweep "
    "per board.",
)
@click.option("--data", "-d", default="digits", show_default=True, help="'digits' or an ImageFolder directory.")
@load_option
@weights_option
@train_options({"epochs": 10})
@compute_options
@click.option(
    "--distil",
    is_flag=True,
    help="Every finalist also learns from a teacher's soft targets. With pretrained --weights the teacher is "
    "the weights' own width, fine-tuned once for twice --epochs (every finalist derives from it with or "
    "without --distil); "
    "without, the widest finalist, which the others then derive from.",
)
@click.option("--remeasure", is_flag=True, help="Measure again even when the database has a result.")
@click.option(
    "--profile",
    is_flag=True,
    help="Profile each trained candidate per op on the target (one of its measurements is taken as `bench "
    "--profile`): the report then shows where each candidate's time goes and which runtime runs each op kind "
    "fastest. LiteRT lanes are profiled on adb:// targets only.",
)
@bench_settings_options
@conditions_options
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False), default="runs/sweep", show_default=True)
@json_flag
@db_option
@click.pass_context
def sweep_command(
    ctx: click.Context,
    targets: tuple[str, ...],
    accept_new_host_key: bool,
    boards: int,
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

    bench = bench_settings_from(options)  # both taken out of ``options`` before they describe the sweep
    train = train_config_from(options)
    plan = plan_sweep(sweep_config(**options, bench=bench, train=train), baseline)
    specs = expand(targets)
    chosen_target = None
    if boards > 1:
        specs, chosen_target = _farm_pool(specs, boards, accept_new_host_key)
    if len(specs) > 1:
        from edgeconv.targets.fleet import run_fleet

        fleet = run_fleet(specs, Path(out_dir), functools.partial(_child_arguments, ctx), err.print)
        print_json(fleet) if as_json else print_fleet(fleet)
        if any("error" in device for device in fleet["devices"]):
            raise EdgeconvError(f"{sum('error' in d for d in fleet['devices'])} of {len(specs)} device sweeps failed")
        return
    chosen_target = chosen_target or get_target(specs[0], accept_new_host_key)
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
        f"({summary['reused_measurements']} measurements reused); latency model ({fit.get('form', 'whole-model')}) "
        f"{fit['formula']}: leave-one-out median error {fit['loo_median_abs_error'] or 0:.1%}{_other_form(fit)}; "
        f"summary in {Path(out_dir) / 'sweep.json'}"
    )


def _other_form(fit: dict[str, Any]) -> str:
    """The leave-one-out error of the latency-model form not in use, when both were fitted."""
    others = [(name, form) for name, form in fit.get("forms", {}).items() if name != fit.get("form")]
    return "".join(f" ({name}: {form['loo_median_abs_error']:.1%})" for name, form in others)


def _farm_pool(specs: list[str], boards: int, accept_new_host_key: bool) -> tuple[list[str], Any]:
    """``--boards N``: one pooled target of N farm boards (the specs unchanged), or, when their fingerprints
    differ, one target per board (to be swept as a fleet)."""
    from edgeconv.targets.farm.pool import open_pool
    from edgeconv.targets.farm.spec import is_farm, parse_farm

    if not all(is_farm(spec) for spec in specs):
        raise UsageError("--boards takes a farm filter (labgrid:KEY=VALUE) or that many places (labgrid://PLACE)")
    opened = open_pool([parse_farm(spec) for spec in specs], boards, accept_new_host_key)
    if isinstance(opened, list):
        err.print(f"note: the {boards} boards differ in their fingerprints: one sweep per board ({', '.join(opened)})")
        return opened, None
    return specs[:1], opened


def _child_arguments(ctx: click.Context, target: str, out: Path) -> list[str]:
    """The options of this ``edgeconv sweep`` invocation, for one of its targets and output directories."""
    args: list[str] = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in ("targets", "boards", "out_dir", "as_json"):
            continue
        value = ctx.params.get(param.name or "")
        if value is None or (param.is_flag and not param.secondary_opts and not value):
            continue
        if param.is_flag and not param.secondary_opts:
            args.append(param.opts[0])
        elif param.is_flag:
            args.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            args += [param.opts[0], str(value)]
    from edgeconv.targets.farm.spec import settings

    return ["sweep", *args, *settings.argv(), "--target", target, "--out", str(out), "--json"]
