"""Atomic file writes: a temporary file in the destination directory, fsync'd, then renamed into place.

A reader (or a crash) never sees a half-written artifact, checkpoint or JSON file. Device-side safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgeconv.errors import disk_full
from edgeconv.staging import temporary_prefix


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``destination``; on success rename it over ``destination``.

    If the body raises, the temporary file is removed and ``destination`` is left untouched; a write that
    failed for want of space becomes a :class:`~edgeconv.errors.DiskFullError` naming ``destination``.
    """
    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=temporary_prefix(destination), suffix=".tmp", dir=destination.parent)
    except OSError as exc:
        raise (disk_full(exc, destination) or exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the permissions open() would
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, destination)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        full = disk_full(exc, destination)
        if full is not None:
            raise full from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(destination: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``destination`` atomically."""
    with atomic_path(destination) as tmp:
        tmp.write_bytes(data)


def write_json(destination: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON (with a trailing newline) to ``destination`` atomically."""
    write_bytes(destination, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def sha256_files(*paths: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the concatenated contents of ``paths``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
