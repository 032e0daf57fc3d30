"""``edgeconv info``: this device's fingerprint and which inference runtimes are installed (no torch); with
``--peak``, the device's int8 and fp32 GEMM throughput, stored with its fingerprint."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from edgeconv.cli.common import connection_options, db_option, err, json_flag, out, print_json
from edgeconv.errors import UsageError


def installed_backends() -> dict[str, str | None]:
    """Backend name -> "package version" of its installed runtime (None when missing), without importing it."""
    from edgeconv.runtime.formats import all_formats

    found: dict[str, str | None] = {}
    for spec in all_formats():
        runtime = spec.installed_runtime()
        found[spec.backend_name] = " ".join(runtime) if runtime else None
    return found


def parse_thread_counts(text: str | None) -> list[int] | None:
    """``1,2,4`` -> [1, 2, 4]; None stays None (the device's default counts)."""
    if text is None:
        return None
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--threads takes comma-separated whole numbers, e.g. 1,2,4; got {text!r}") from None
    if not counts or any(c < 1 for c in counts):
        raise UsageError(f"--threads takes thread counts >= 1, e.g. 1,2,4; got {text!r}")
    return sorted(set(counts))


def print_peak(peak: dict[str, Any]) -> None:
    """The peak table, the int8 arithmetic and the notes that follow from them."""
    from edgeconv.runtime.peak import peak_notes

    table = Table(title=f"GEMM peak of {peak['device']['hostname']}", caption=f"{peak['runtime']}: {peak['gemm']}")
    columns = ("threads", "int8 GMAC/s", "fp32 GMAC/s", "int8 / fp32", "depthwise int8 / fp32", "bandwidth GB/s")
    for column in columns:
        table.add_column(column, justify="right")
    for threads, figures in peak["threads"].items():
        int8, fp32 = figures["int8_gmacs"], figures["fp32_gmacs"]
        depthwise = (
            f"{figures['depthwise_int8_gmacs']:.1f} / {figures['depthwise_fp32_gmacs']:.1f}"
            if "depthwise_int8_gmacs" in figures
            else "not measured"
        )
        bandwidth = f"{figures['bandwidth_gbs']:.1f}" if "bandwidth_gbs" in figures else "not measured"
        table.add_row(threads, f"{int8:.1f}", f"{fp32:.1f}", f"{int8 / fp32:.2f}x", depthwise, bandwidth)
    out.print(table)
    for threads, figures in peak["threads"].items():
        runtimes = figures.get("gemm_by_runtime") or {}
        if len(runtimes) > 1:
            each = "; ".join(f"{name} {f['int8']:.1f} / {f['fp32']:.1f}" for name, f in runtimes.items())
            out.print(f"GEMM int8 / fp32 GMAC/s per runtime at {threads} thread(s): {each} (the peak is the best)")
    out.print(f"int8 arithmetic on full-range inputs: {peak.get('int8_arithmetic', 'not measured')}")
    for note in peak_notes(peak):
        err.print(f"note: {note}")


@click.command("info")
@click.option(
    "--peak",
    is_flag=True,
    help="Also measure the device's int8 and fp32 multiply-accumulate throughput (a 1024^3 GEMM through "
    "onnxruntime, best of 20, per thread count) and store it with the device fingerprint: every benchmark of "
    "this device then reports its fraction of that peak.",
)
@click.option(
    "--threads", default=None, help="--peak: thread counts, e.g. 1,2,4 [default: 1, 2, 4... up to the cores]."
)
@click.option(
    "--target",
    default="local",
    show_default=True,
    help="--peak: the device to measure: local, ssh://[user@]host[:port][/dir], an ssh_config alias, or a farm's "
    "labgrid://PLACE or labgrid:KEY=VALUE.",
)
@connection_options
@click.option("--no-store", is_flag=True, help="--peak: do not store the peak in the results database.")
@db_option
@json_flag
def info_command(
    peak: bool,
    threads: str | None,
    target: str,
    accept_new_host_key: bool,
    no_store: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Show the device fingerprint recorded with every benchmark, and the installed runtimes.

    \b
    Examples:
      edgeconv info
      edgeconv info --peak
      edgeconv info --peak --target ssh://pi@raspberrypi.local
    """
    from edgeconv.runtime import device_info
    from edgeconv.runtime.formats import all_formats

    counts = parse_thread_counts(threads)
    if not peak and (threads is not None or target != "local"):
        raise UsageError("--threads and --target apply to --peak")
    measured = _measure_peak(target, accept_new_host_key, counts, no_store, db) if peak else None
    info = measured["device"] if measured else device_info()
    backends = installed_backends()
    if as_json:
        print_json({"device": info, "backends": backends, **({"peak": measured} if measured else {})})
        return
    table = Table(show_header=False, title="this device" if target == "local" else target)
    for key, value in info.items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    if target == "local":
        for spec in all_formats():
            version = backends[spec.backend_name]
            status = version or f"not installed (pip install 'edgeconv[{spec.runtime_extra}]')"
            table.add_row(f"backend {spec.backend_name} ({spec.suffix})", status)
    out.print(table)
    if measured:
        print_peak(measured)


def _measure_peak(
    spec: str, accept_new_host_key: bool, threads: list[int] | None, no_store: bool, db: str | None
) -> dict[str, Any]:
    from edgeconv.targets import get_target

    target = get_target(spec, accept_new_host_key)
    with err.status(f"measuring the GEMM peak on {target.name}..."):
        measured = target.peak(threads)
    if not no_store:
        from edgeconv.results import open_store

        with open_store(db) as store:
            store.add_peak(measured)
        err.print(f"stored the peak of device {measured['device']['device_id']} in {store.path}")
    return measured
