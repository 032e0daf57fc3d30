"""Errors that the CLI reports as one line and a non-zero exit, and the lazy import of optional extras.

This module is imported by the device side: it must stay free of heavy imports.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType

# errno values that mean "the file system has no room for this write"
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
ALMOST_FULL_BYTES = 1 << 20


class EdgeconvError(Exception):
    """An error caused by the user's input or environment; the CLI prints its message without a traceback."""


class UsageError(EdgeconvError, ValueError):
    """A bad argument: unknown name, out-of-range number, wrong shape."""


class ArtifactError(EdgeconvError):
    """A model file that is missing, unreadable, corrupt, or of an unsupported kind."""


class DiskFullError(EdgeconvError, OSError):
    """A write failed for want of space; the message names the path that could not be written."""


def disk_full(
    exc: BaseException, path: str | os.PathLike[str], needed_bytes: int = 0, free_before: int | None = None
) -> DiskFullError | None:
    """The one-line error for ``exc`` if it was a failed write for want of space, else None.

    Native writers (OpenVINO's serializer, TFLite's flatbuffer writer) do not always raise an OSError with
    ENOSPC (OpenVINO says "basic_ios::clear: iostream error"; onnxruntime's optimizer leaves a truncated file
    that the next reader calls corrupt), and their partial files may be gone by the time we look. So any failure
    while ``path``'s file system has, or had at the start (``free_before``), less room than ``needed_bytes`` (what
    was being written, as far as the caller can tell) plus 1 MiB counts as a full disk too.
    """
    path = Path(path)
    if isinstance(exc, DiskFullError):
        return exc
    if isinstance(exc, EdgeconvError):  # edgeconv's own errors say what they mean (a failed gate, a bad file)
        return None
    if isinstance(exc, OSError) and exc.errno in NO_ROOM:
        return DiskFullError(f"cannot write {path}: {os.strerror(exc.errno)}")
    free = min((f for f in (free_bytes(path), free_before) if f is not None), default=None)
    if free is not None and free < needed_bytes + ALMOST_FULL_BYTES:
        return DiskFullError(
            f"cannot write {path}: no space left on device ({free} bytes free, up to {needed_bytes} needed; "
            f"{first_line(exc)})"
        )
    return None


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Bytes free to unprivileged writers on the file system of ``path`` (or of its nearest existing parent)."""
    path = Path(path)
    for folder in (path, *path.parents):
        try:
            stat = os.statvfs(folder)
        except OSError:
            continue
        return stat.f_bavail * stat.f_frsize
    return None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class MissingExtraError(EdgeconvError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the pip extra that installs it.

    ``purpose`` completes the sentence "<purpose> needs the '<extra>' extra", e.g. "edgeconv export".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the '{extra}' extra ({module} is not importable: {exc}): pip install 'edgeconv[{extra}]'"
        ) from None


def require_installed(module: str, extra: str, purpose: str) -> None:
    """Like :func:`require`, but only checks that ``module`` is installed, without importing it (importing a
    heavy framework prints its own warnings; the code that uses it imports it where its output is silenced)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise MissingExtraError(
            f"{purpose} needs the '{extra}' extra ({module} is not installed): pip install 'edgeconv[{extra}]'"
        )
