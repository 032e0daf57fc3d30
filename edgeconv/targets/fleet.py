"""Many devices: named groups of targets, measurements on different devices in parallel, and a sweep per
device (one ``edgeconv sweep`` process each, all at once, then ``OUT/fleet.json`` naming each device's sweep).

Groups live in ``targets.toml`` in the user's config directory (``~/.config/edgeconv/`` on Linux, or
``$EDGECONV_TARGETS``)::

    [groups]
    shelf = ["ssh://pi4", "pi5", "adb://R58M123"]
    rack = ["labgrid:board=rpi5", "labgrid://jetson-1"]

    [farm]
    coordinator = "farm.example.com:20408"   # labgrid targets' coordinator unless --coordinator or $LG_COORDINATOR

A measurement holds a lock on this machine per target as well as the device's own lock (an adb phone runs
no edgeconv to hold one), so two edgeconv processes never measure one device at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from edgeconv.atomic import write_json
from edgeconv.errors import EdgeconvError, UsageError
from edgeconv.runtime.lock import device_lock
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.base import Target, edgeconv_process
from edgeconv.targets.measure_options import MeasureOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def targets_file() -> Path:
    if os.environ.get("EDGECONV_TARGETS"):
        return Path(os.environ["EDGECONV_TARGETS"])
    from platformdirs import user_config_dir

    return Path(user_config_dir("edgeconv")) / "targets.toml"


def targets_table(name: str) -> dict[str, Any]:
    """The table ``[name]`` of ``targets.toml`` (empty when there is no file or no such table)."""
    path = targets_file()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    found = data.get(name, {})
    if not isinstance(found, dict):
        raise UsageError(f"{path}: [{name}] must be a table")
    return found


def groups() -> dict[str, list[str]]:
    """The groups of ``targets.toml`` (none when there is no file)."""
    path = targets_file()
    found = targets_table("groups")
    if not isinstance(found, dict) or not all(isinstance(v, list) for v in found.values()):
        raise UsageError(f"{path}: [groups] maps names to lists of targets, e.g. shelf = ['ssh://pi4', 'pi5']")
    return {name: [str(t) for t in members] for name, members in found.items()}


def expand(specs: Sequence[str]) -> list[str]:
    """The targets ``specs`` name, groups expanded, each once, in the order given."""
    known = groups()
    expanded: list[str] = []
    for spec in specs:
        for target in known.get(spec, [spec]):
            if target not in expanded:
                expanded.append(target)
    return expanded or ["local"]


def target_lock(target: Target) -> Any:
    """This machine's lock for one target (by name). A farm's place is queued for by its coordinator (``queued``),
    whoever asks and from wherever; a lock here would make two filters for one kind of board wait for each
    other though the farm has a board for each."""
    if getattr(target, "queued", False):
        return contextlib.nullcontext()
    digest = hashlib.sha256(target.name.encode()).hexdigest()[:16]
    return device_lock(path=Path(tempfile.gettempdir()) / f"edgeconv-target-{digest}.lock")


def measure_on(targets: Sequence[Target], path: Path, options: MeasureOptions) -> list[BenchResult | EdgeconvError]:
    """``path`` measured on every target at once (one at a time per device); a failure is returned in its
    target's place, so one unreachable board does not cost the others' results."""

    def one(target: Target) -> BenchResult | EdgeconvError:
        try:
            with target_lock(target):
                return target.measure(path, options)
        except EdgeconvError as exc:
            return exc

    if len(targets) == 1:  # in this thread, so that Ctrl-C or SIGTERM stops it rather than wait for a worker
        return [one(targets[0])]
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        return list(pool.map(one, targets))


def slug(target: str) -> str:
    """A directory name for a target: ``ssh://pi@host:22`` -> ``ssh_pi_host_22``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", target).strip("_")


def run_fleet(
    targets: list[str], out: Path, sweep_argv: Callable[[str, Path], list[str]], log: Callable[[str], None]
) -> dict[str, Any]:
    """One sweep per target, in parallel processes (``sweep_argv(target, directory)``: the edgeconv arguments of
    one); ``OUT/fleet.json`` records where each one is, and what it chose or why it failed."""
    procs = {}
    for target in targets:
        directory = out / slug(target)
        command = [*edgeconv_process(), *sweep_argv(target, directory)]
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
