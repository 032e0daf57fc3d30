"""``edgeconv info``: this device's fingerprint and which inference runtimes are installed (no torch)."""

from __future__ import annotations

import importlib.util
from importlib import metadata

import click
from rich.table import Table

from edgeconv.cli.common import json_flag, out, print_json


def installed_backends() -> dict[str, str | None]:
    """Backend name -> installed runtime version (None when its package is missing), without importing it."""
    from edgeconv.runtime import BACKENDS

    found: dict[str, str | None] = {}
    for spec in BACKENDS:
        if importlib.util.find_spec(spec.runtime_package) is None:
            found[spec.name] = None
            continue
        try:
            found[spec.name] = metadata.version(spec.runtime_package)
        except metadata.PackageNotFoundError:
            found[spec.name] = "unknown version"
    return found


@click.command("info")
@json_flag
def info_command(as_json: bool) -> None:
    """Show the device fingerprint recorded with every benchmark, and the installed runtimes."""
    from edgeconv.runtime import BACKENDS, device_info

    info = device_info()
    backends = installed_backends()
    if as_json:
        print_json({"device": info, "backends": backends})
        return
    table = Table(show_header=False, title="this device")
    for key, value in info.items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    for spec in BACKENDS:
        version = backends[spec.name]
        status = version or f"not installed (pip install 'edgeconv[{spec.extra}]')"
        table.add_row(f"backend {spec.name} ({', '.join(spec.suffixes)})", status)
    out.print(table)
