"""A sweep on several devices: one ``edgeconv sweep`` process per device, in parallel (each device measures one
thing at a time; different devices at once), then ``OUT/fleet.json`` naming each device's sweep directory."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import click

from edgeconv.atomic import write_json
from edgeconv.targets.base import edgeconv_process


def child_arguments(ctx: click.Context, target: str, out: Path) -> list[str]:
    """The options of this ``edgeconv sweep`` invocation, for one of its targets and output directories."""
    args: list[str] = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in ("targets", "out_dir", "as_json"):
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
    return ["sweep", *args, "--target", target, "--out", str(out), "--json"]


def slug(target: str) -> str:
    """A directory name for a target: ``ssh://pi@host:22`` -> ``ssh_pi_host_22``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", target).strip("_")


def run_fleet(ctx: click.Context, targets: list[str], out: Path, log: Any) -> dict[str, Any]:
    """One sweep per target, in parallel processes; ``OUT/fleet.json`` records where each one is."""
    procs = {}
    for target in targets:
        directory = out / slug(target)
        command = [*edgeconv_process(), *child_arguments(ctx, target, directory)]
        procs[target] = (
            directory,
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        )
        log(f"sweep  {target}: started (output in {directory})")
    devices = []
    for target, (directory, proc) in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode == 0:
            summary = json.loads(stdout)
            chosen = summary["selection"]["chosen"]
            devices.append(
                {"target": target, "out": str(directory), "device_id": summary["device_id"], "chosen": chosen}
            )
            log(f"sweep  {target}: " + (f"chose {chosen['artifact_name']}" if chosen else "nothing fits"))
        else:
            reason = (stderr.strip().splitlines() or ["no output"])[-1].removeprefix("Error: ")
            devices.append({"target": target, "out": str(directory), "error": reason})
            log(f"sweep  {target}: failed: {reason}")
    fleet = {"kind": "fleet", "targets": targets, "devices": devices}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "fleet.json", fleet)
    return fleet
