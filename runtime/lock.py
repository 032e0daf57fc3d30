"""One measurement at a time on a device: every ``edgeconv bench`` holds this lock while it loads, warms up and
measures, whichever process, user or workstation started it (two measurements at once would each slow the
other down and both would be wrong)."""

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
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (edgeconv's devices are Linux and macOS boards)
        yield 0.0
        return
    path = path or lock_path()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    with contextlib.suppress(PermissionError):
        os.fchmod(fd, 0o666)  # whoever measures next may be another user
    started = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - started > timeout:
                    raise EdgeconvError(
                        f"another measurement has held this device for over {timeout:.0f} s (lock {path})"
                    ) from None
                time.sleep(0.05)
        yield time.monotonic() - started
    finally:
        os.close(fd)  # releases the lock
