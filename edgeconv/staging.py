"""Multi-file writes that a killed process cannot leave half done, and the recovery of what one left behind.

A multi-file result (an artifact: main file, companions, sidecar) is made in a staging directory
``.stage-<pid>-<random>`` inside its destination and then published by renames: companions and sidecar first, the
main file last, so the main file never appears without the files it needs. A ``PUBLISHING`` marker, written
before the first rename, lists the order. Single files go through :func:`edgeconv.atomic.atomic_path`, whose
temporary names ``.<name>.<pid>.<random>.tmp`` also carry the writer's pid.

A process killed by SIGKILL runs no cleanup. :func:`recover` (run by the next export, train or sweep into the
same directory) finds the staging directories and temporary files of processes that no longer run: a staging
directory that had started publishing is published to the end (roll forward), anything else is deleted.
Device-side safe: standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

STAGING_PREFIX = ".stage-"
MARKER = "PUBLISHING"
_STAGING = re.compile(rf"^{re.escape(STAGING_PREFIX)}(\d+)-")
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")


def staging_prefix() -> str:
    """The name prefix of this process's staging directories."""
    return f"{STAGING_PREFIX}{os.getpid()}-"


def temporary_prefix(destination: Path) -> str:
    """The name prefix of this process's temporary file for ``destination`` (mkstemp adds a random part)."""
    return f".{destination.name}.{os.getpid()}."


def make_staging(directory: Path) -> Path:
    """A new staging directory of this process inside ``directory`` (made if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=staging_prefix(), dir=directory))


def publish(staging: Path, files: Sequence[Path], destination: Path) -> None:
    """Rename ``files`` (inside ``staging``) into ``destination`` in the given order, after writing the marker
    that lets :func:`recover` finish the job if this process dies half way."""
    (staging / MARKER).write_text("".join(f"{file.name}\n" for file in files))
    for file in files:
        os.replace(file, destination / file.name)


def recover(directory: Path, recursive: bool = False) -> list[str]:
    """Finish or remove what dead processes left in ``directory`` (and below it if ``recursive``); returns one
    line per thing done, for the log."""
    done: list[str] = []
    if not directory.is_dir():
        return done
    for entry in sorted(directory.iterdir()):
        match = _STAGING.match(entry.name) if entry.is_dir() else _TEMPORARY.match(entry.name)
        if match and not _alive(int(match.group(1))):
            done.append(_recover_one(entry, directory))
        elif recursive and entry.is_dir() and not entry.is_symlink():
            done.extend(recover(entry, recursive=True))
    return done


def _recover_one(entry: Path, directory: Path) -> str:
    marker = entry / MARKER
    if entry.is_dir() and marker.is_file():
        names = [name for name in marker.read_text().splitlines() if (entry / name).exists()]
        for name in names:
            os.replace(entry / name, directory / name)
        shutil.rmtree(entry, ignore_errors=True)
        return f"finished publishing {', '.join(names) or 'nothing left'} in {directory} (its writer was killed)"
    if entry.is_dir():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)
    return f"removed {entry} (left by a killed process)"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
