"""``edgeconv info``: this device's fingerprint and which inference runtimes are installed (no torch)."""

from __future__ import annotations

import click
from rich.table import Table

from edgeconv.cli.common import json_flag, out, print_json


def installed_backends() -> dict[str, str | None]:
    """Backend name -> "package version" of its installed runtime (None when missing), without importing it."""
    from edgeconv.runtime.formats import all_formats

    found: dict[str, str | None] = {}
    for spec in all_formats():
        runtime = spec.installed_runtime()
        found[spec.backend_name] = " ".join(runtime) if runtime else None
    return found


@click.command("info")
@json_flag
def info_command(as_json: bool) -> None:
    """Show the device fingerprint recorded with every benchmark, and the installed runtimes."""
    from edgeconv.runtime import device_info
    from edgeconv.runtime.formats import all_formats

    info = device_info()
    backends = installed_backends()
    if as_json:
        print_json({"device": info, "backends": backends})
        return
    table = Table(show_header=False, title="this device")
    for key, value in info.items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    for spec in all_formats():
        version = backends[spec.backend_name]
        status = version or f"not installed (pip install 'edgeconv[{spec.runtime_extra}]')"
        table.add_row(f"backend {spec.backend_name} ({spec.suffix})", status)
    out.print(table)
