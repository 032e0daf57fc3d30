"""``edgeconv target check|setup``: what a board has, and installing edgeconv's device side on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from edgeconv.cli.common import connection_options, err, json_flag, out, print_json


def _options(function: Any) -> Any:
    return click.argument("target")(connection_options(function))


def print_report(report: dict[str, Any]) -> None:
    device = report["device"]
    table = Table(show_header=False, title=f"{report['target']} ({device['hostname']})")
    runtimes = ", ".join(f"{name}: {found}" for name, found in report["runtimes"].items() if found) or "none"
    rows = [
        ("python", f"{report['python_version']} ({report['python']})"),
        ("cpu", f"{device['cpu_model']}, {device['cores_logical']} cores, {device['machine']}"),
        ("int8 path", device["int8_path"]),
        ("os", f"{device['os']}, kernel {device['kernel']}"),
        ("free disk", f"{report['disk_free_mb'] / 1024:.1f} GB where edgeconv keeps its files ({report['directory']})"),
        ("edgeconv", report["edgeconv"] if report["in_edgeconv_venv"] else "not installed"),
        ("runtimes", runtimes),
    ]
    for key, value in rows:
        table.add_row(key, str(value))
    out.print(table)
    for command in report["missing"]:
        out.print(f"to do: {command}")


@click.group("target")
def target_group() -> None:
    """Boards measured over SSH: check one, install edgeconv's device side on it, list a farm's places.

    \b
    TARGET is ssh://[user@]host[:port][/dir], an alias from your ssh_config, or a place of a labgrid farm:
    labgrid://PLACE[/dir] or labgrid:KEY=VALUE[,KEY=VALUE] (reserved, used, released). edgeconv runs your ssh client
    in batch mode: your keys, agent, ProxyJump and known_hosts apply; it never asks for a password and stores
    no secret. On the device it keeps everything in one directory (default ~/.cache/edgeconv).
    """


@target_group.command("check")
@_options
@json_flag
def check_command(target: str, accept_new_host_key: bool, as_json: bool) -> None:
    """Python, CPU (and its int8 path), OS, free disk and installed runtimes of TARGET, and what to install."""
    from edgeconv.targets import board, get_target

    device = board(
        get_target(target, accept_new_host_key),
        "setup",
        "`target check` is for boards: see `edgeconv info` for this machine",
    )
    with err.status(f"checking {device.name}..."):
        report = device.check()
    print_json(report) if as_json else print_report(report)


@target_group.command("setup")
@_options
@click.option(
    "--runtime",
    type=click.Choice(["litert", "onnx", "openvino"]),
    default="litert",
    show_default=True,
    help="The inference runtime to install (the extra of that name).",
)
@click.option(
    "--wheel",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The edgeconv wheel to install. [default: built from this edgeconv's source]",
)
@click.option(
    "--wheelhouse",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="For a board without internet: a directory of wheels for the board's platform (downloaded into it "
    "here when it holds none), copied over and installed offline.",
)
@json_flag
def setup_command(
    target: str, accept_new_host_key: bool, runtime: str, wheel: Path | None, wheelhouse: Path | None, as_json: bool
) -> None:
    """Create a venv on TARGET and install this edgeconv's wheel with one runtime (never torch)."""
    from edgeconv.targets import board, get_target

    message = "`target setup` is for boards: install edgeconv here with pip"
    device = board(get_target(target, accept_new_host_key), "setup", message)
    with err.status(f"installing edgeconv[{runtime}] on {device.name} (a board may take minutes)..."):
        report = device.setup(runtime, wheel, wheelhouse)
    print_json(report) if as_json else print_report(report)


@target_group.command("list")
@connection_options
@json_flag
def list_command(accept_new_host_key: bool, as_json: bool) -> None:
    """The groups of targets.toml, and the places the labgrid coordinator offers: their tags, who holds each
    and how many reservations wait that it could serve (--coordinator, $LG_COORDINATOR or [farm] coordinator)."""
    from edgeconv.targets.farm.spec import settings
    from edgeconv.targets.fleet import groups, targets_file

    listing: dict[str, Any] = {"targets_file": str(targets_file()), "groups": groups()}
    coordinator = settings.configured()
    if coordinator:
        from edgeconv.targets.farm.places import place_rows
        from edgeconv.targets.farm.session import session_for

        listing["coordinator"] = settings.address()
        listing["places"] = place_rows(session_for(settings.address()))
    if as_json:
        print_json(listing)
        return
    for name, members in listing["groups"].items():
        out.print(f"group {name}: {', '.join(members)}")
    if not coordinator:
        err.print("no labgrid coordinator named (--coordinator, $LG_COORDINATOR or [farm] coordinator in targets.toml)")
        return
    table = Table(title=f"places of {listing['coordinator']}")
    for column in ("place", "tags", "held by", "waiting", "board"):
        table.add_column(column)
    for row in listing["places"]:
        tags = ",".join(f"{k}={v}" for k, v in sorted(row["tags"].items()))
        table.add_row(row["place"], tags, row["acquired"] or "-", str(row["queue"]), row["board"] or row["problem"])
    out.print(table)
