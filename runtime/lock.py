"""Exclusive file locks (``file_lock``), and the device lock built on one.

One measurement at a time on a device: every ``edgeconv bench`` holds the device lock while it loads, warms up
and measures, whichever process, user or workstation started it (two measurements at once would each slow
the other down and both would be wrong). One sweep at a time in an output directory holds its own lock there.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from edgeconv.errors import EdgeconvError


def lock_path() -> Path:
    """Device-wide (not per user): in the system temp directory, or ``$EDGECONV_DEVICE_LOCK``."""
    return Path(os.environ.get("EDGECONV_DEVICE_LOCK") or Path(tempfile.gettempdir()) / "edgeconv-device.lock")


@contextlib.contextmanager
def device_lock(timeout: float = 3600.0, path: Path | None = None) -> Iterator[float]:
    """Hold the device lock (or the lock file ``path``) for the block; yields the seconds spent waiting."""
    path = path or lock_path()
    busy = f"another measurement has held this device for over {timeout:.0f} s (lock {path})"
    with file_lock(path, timeout, busy) as waited:
        yield waited


@contextlib.contextmanager
def file_lock(path: Path, timeout: float, busy: str) -> Iterator[float]:
    """Hold an exclusive lock on the file ``path`` (created if missing, readable and writable by every user)
    for the block, waiting up to ``timeout`` seconds (0: not at all) for another holder before raising
    :class:`EdgeconvError` with the message ``busy``; yields the seconds spent waiting. The kernel releases
    the lock when its holder exits, however it exits (a killed process leaves no stale lock)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (edgeconv's devices are Linux and macOS boards)
        yield 0.0
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    with contextlib.suppress(PermissionError):
        os.fchmod(fd, 0o666)  # whoever takes it next may be another user
    started = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - started >= timeout:
                    raise EdgeconvError(busy) from None
                time.sleep(0.05)
        yield time.monotonic() - started
    finally:
        os.close(fd)  # releases the lock
