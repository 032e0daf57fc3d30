"""``edgeconv bench``: measure an exported model's latency on this device (device side: no torch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgeconv.cli.common import FiniteFloatRange, backend_options, db_option, err, json_flag, out, target_options
from edgeconv.cli.options import bench_settings_from, bench_settings_options, conditions_options, threads_option
from edgeconv.errors import ArtifactError
from edgeconv.runtime.result import BenchResult

if TYPE_CHECKING:
    from edgeconv.targets.measure_options import MeasureOptions


def print_summary(result: BenchResult) -> None:
    """A readable summary of one benchmark."""
    lat, dev, art = result.latency_ms, result.device, result.artifact
    settings = ", ".join(f"{k}={v}" for k, v in result.backend["settings"].items())
    table = Table(show_header=False, title=f"{art['name']} on {dev['hostname']}")
    rows = [
        (
            "artifact",
            f"{art['format']} {art['precision']}, {art['size_bytes'] / 1e6:.2f} MB, sha256 {art['sha256'][:12]}",
        ),
        ("backend", f"{result.backend['name']} {result.backend['version']} ({settings})"),
        (
            "device",
            f"{dev['cpu_model']}, {dev['cores_available']}/{dev['cores_logical']} cores, {dev['machine']}, {dev['os']}",
        ),
        ("init / first run", f"{result.init_ms:.1f} ms / {result.first_inference_ms:.2f} ms"),
        ("latency p50 / p90 / p99", f"{lat.p50:.3f} / {lat.p90:.3f} / {lat.p99:.3f} ms"),
        ("min / mean +- std / max", f"{lat.min:.3f} / {lat.mean:.3f} +- {lat.std:.3f} / {lat.max:.3f} ms"),
        ("runs", f"{result.runs} in {result.seconds:.2f} s after {result.warmup_runs} warm-up runs"),
        ("spread", f"cv {result.cv:.1%}" + ("  [bold red]NOISY[/]: re-run on a quiet machine" if result.noisy else "")),
        ("peak RSS", f"{result.peak_rss_mb:.0f} MB" if result.peak_rss_mb else "n/a"),
        ("compute at p50", compute_line(result)),
    ]
    if result.invalid:
        rows.append(("[bold red]INVALID[/]", f"{result.invalid}: not used for selection"))
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)
    if result.profile:
        print_profile(result.profile)


def print_profile(profile: dict[str, Any], slowest: int = 10) -> None:
    """Per-op-kind shares of the profiled time (with each kind's roofline efficiency when the device's limits
    are stored) and the slowest layers with what bounds them."""
    from edgeconv.runtime.profile.digest import digest

    found = digest(profile, slowest)
    roof = found["roofline"]
    coverage = f", {found['coverage']:.2f}x the measured p50" if found.get("coverage") else ""
    overhead = f"; a profiled run took {found['overhead']:.2f}x the p50" if found.get("overhead") else ""
    caption = f"{found['profiler']}, {found['runs']} runs: ops sum to {found['profiled_ms']:.3f} ms{coverage}"
    kinds = Table("op kind", "layers", "ms", "share", "MMAC", "MB moved", "efficiency", title="where the time goes")
    kinds.caption = caption + overhead
    for kind, entry in found["by_kind"].items():
        kinds.add_row(
            kind,
            str(entry["layers"]),
            f"{entry['ms']:.3f}",
            f"{entry['share']:.1%}",
            f"{entry['macs'] / 1e6:.1f}",
            f"{entry['bytes'] / 1e6:.2f}",
            _percent(entry["efficiency"]),
        )
    out.print(kinds)
    if roof:
        out.print(
            f"roofline: {roof['bound_ms']:.3f} ms bound against the {found['p50_ms']:.3f} ms p50, efficiency "
            f"{roof['efficiency']:.0%}; {roof['loses_most']} loses most against its bound"
        )
    else:
        out.print(
            "roofline: no bandwidth or depthwise peak stored for this device and thread count: edgeconv info --peak"
        )
    layers = Table(
        "layer", "op", "kind", "ms", "GMAC/s", "bound", "efficiency", "fused", title=f"slowest {slowest} layers"
    )
    for layer in found["slowest"]:
        layers.add_row(
            layer["name"],
            layer["op_type"],
            layer["kind"],
            f"{layer['ms']:.3f}",
            f"{layer['gmacs']:.1f}" if layer["gmacs"] else "",
            layer["limit"] or "",
            _percent(layer["efficiency"]),
            str(layer["fused"]),
        )
    out.print(layers)


def _percent(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else ""


def compute_line(result: BenchResult) -> str:
    """Achieved GMAC/s and the fraction of the device's GEMM peak, or how to measure that peak."""
    from edgeconv.runtime.peak import result_efficiency

    found = result.efficiency or result_efficiency(result, None)
    if found is None:
        return "n/a (the artifact's sidecar does not give its MACs)"
    if found["fraction_of_peak"] is None:
        return f"{found['gmacs']:.1f} GMAC/s (no peak stored for this device: edgeconv info --peak)"
    return f"{found['gmacs']:.1f} GMAC/s, {found['fraction_of_peak']:.0%} of its {found['peak_kind']} GEMM peak"


@click.command("bench")
@click.argument("model_file", type=click.Path(dir_okay=False))
@threads_option(None, "Inference threads. [default: the cores this process may use]")
@bench_settings_options
@conditions_options
@click.option(
    "--max-rss",
    type=FiniteFloatRange(min=0, min_open=True),
    default=None,
    help="Memory limit in MB: a model whose files alone would not fit is refused before it loads, and a "
    "result whose peak resident memory exceeds it is flagged invalid.",
)
@backend_options
@target_options
@json_flag
@click.option(
    "--profile",
    is_flag=True,
    help="Also time every op with the runtime's own profiler (onnxruntime's session profiling, OpenVINO's "
    "performance counters, LiteRT's native benchmark_model on adb://), in --runs more runs after the timed "
    "ones: per-op-kind shares, the slowest layers, what the runtime fused into what.",
)
@click.option("--no-store", is_flag=True, help="Do not append the result to the results database.")
@db_option
def bench_command(
    model_file: str,
    threads: int | None,
    as_json: bool,
    no_store: bool,
    db: str | None,
    cooldown: float,
    max_temp: float | None,
    max_rss: float | None,
    profile: bool,
    targets: tuple[str, ...],
    accept_new_host_key: bool,
    **options: Any,
) -> None:
    """Measure the latency of MODEL_FILE (.onnx, .tflite or OpenVINO .xml) on this machine or on --target.

    Warms up until both --warmup runs and --warmup-seconds are reached, then measures until both --runs and
    --min-seconds are reached (like TFLite's benchmark_model). Reports p50/p90/p99, flags noisy runs, and
    appends the result to the results database. --json prints the full BenchResult (raw samples included).
    """
    from edgeconv.runtime import bench
    from edgeconv.runtime.formats import format_for
    from edgeconv.targets.fleet import expand
    from edgeconv.targets.measure_options import MeasureOptions

    settings = bench_settings_from(options)  # the rest of ``options`` are the runtimes' own settings
    measure = MeasureOptions(threads, settings, cooldown, max_temp, max_rss, runtime=options, profile=profile)
    path = Path(model_file)
    format_for(path)  # an unknown suffix or a missing file is one line, before any progress display
    if not path.is_file():
        raise ArtifactError(f"no such model file: {path}")
    specs = expand(targets)
    if specs != ["local"]:
        _bench_on(specs, accept_new_host_key, path, measure, as_json, no_store, db)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} runs"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        auto_refresh=False,  # a refresh thread would compete with the inference threads being measured
    ) as progress:
        task = progress.add_task(f"loading {Path(model_file).name}", total=None)
        last_refresh = [0.0]

        def hook(phase: str, count: int, elapsed: float) -> None:
            # drawn between timed runs, at most four times a second
            if count == 1 or elapsed - last_refresh[0] >= 0.25 or elapsed < last_refresh[0]:
                last_refresh[0] = elapsed
                progress.update(task, description=phase, completed=count, refresh=True)

        result = bench(model_file, progress=hook, **measure.bench_keywords())
    _print(_store(result, no_store, db), as_json)


def _bench_on(
    specs: list[str],
    accept_new_host_key: bool,
    path: Path,
    measure: MeasureOptions,
    as_json: bool,
    no_store: bool,
    db: str | None,
) -> None:
    """Measure on one or more targets (in parallel across devices); every success is reported and stored, then
    each failure is one line and the exit status is 1."""
    from edgeconv.errors import EdgeconvError
    from edgeconv.runtime.artifact_info import describe_artifact
    from edgeconv.targets import get_target
    from edgeconv.targets.fleet import measure_on

    describe_artifact(path)  # a missing file, companion or unknown suffix is reported before connecting
    chosen = [get_target(spec, accept_new_host_key) for spec in specs]
    with err.status(f"measuring {path.name} on {', '.join(t.name for t in chosen)}..."):
        outcomes = measure_on(chosen, path, measure)
    results = [_store(o, no_store, db) for o in outcomes if isinstance(o, BenchResult)]
    for result in results:
        if not (as_json and len(specs) > 1):
            _print(result, as_json)
    if as_json and len(specs) > 1:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    failures = [f"{t.name}: {o}" for t, o in zip(chosen, outcomes, strict=True) if isinstance(o, EdgeconvError)]
    if len(failures) == 1 and len(specs) == 1:
        raise EdgeconvError(str(outcomes[0]))
    if failures:
        for line in failures:
            err.print(f"[red]failed[/]: {line}")
        raise EdgeconvError(f"{len(failures)} of {len(specs)} targets failed (see above)")


def _print(result: BenchResult, as_json: bool) -> None:
    if as_json:
        click.echo(result.to_json(), nl=False)
    else:
        print_summary(result)


def _store(result: BenchResult, no_store: bool, db: str | None) -> BenchResult:
    """``result`` as stored (with its fraction of the device's peak, when one is stored), unless ``no_store``."""
    from edgeconv.results import open_store

    if no_store:
        return result
    with open_store(db) as store:
        row, stored = store.add_bench(result)
    err.print(f"stored as result {row} in {store.path}")
    return stored
