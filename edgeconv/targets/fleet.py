"""Many devices: named groups of targets, and measurements on different devices in parallel.

Groups live in ``targets.toml`` in the user's config directory (``~/.config/edgeconv/`` on Linux, or
``$EDGECONV_TARGETS``)::

    [groups]
    shelf = ["ssh://pi4", "pi5", "adb://R58M123"]

A measurement holds a lock on this machine per target as well as the device's own lock (an adb phone runs
no edgeconv to hold one), so two edgeconv processes never measure one device at once.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from edgeconv.errors import EdgeconvError, UsageError
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.lock import device_lock
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.base import Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def targets_file() -> Path:
    if os.environ.get("EDGECONV_TARGETS"):
        return Path(os.environ["EDGECONV_TARGETS"])
    from platformdirs import user_config_dir

    return Path(user_config_dir("edgeconv")) / "targets.toml"


def groups() -> dict[str, list[str]]:
    """The groups of ``targets.toml`` (none when there is no file)."""
    path = targets_file()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    found = data.get("groups", {})
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
    """This machine's lock for one target (by name)."""
    digest = hashlib.sha256(target.name.encode()).hexdigest()[:16]
    return device_lock(path=Path(tempfile.gettempdir()) / f"edgeconv-target-{digest}.lock")


def measure_on(
    targets: Sequence[Target], path: Path, threads: int | None, settings: BenchSettings, **options: Any
) -> list[BenchResult | EdgeconvError]:
    """``path`` measured on every target at once (one at a time per device); a failure is returned in its
    target's place, so one unreachable board does not cost the others' results."""

    def one(target: Target) -> BenchResult | EdgeconvError:
        try:
            with target_lock(target):
                return target.measure(path, threads, settings, **options)
        except EdgeconvError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        return list(pool.map(one, targets))
