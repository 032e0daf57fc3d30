"""How edgeconv reaches a device: a transport runs a shell command there and copies a file there, nothing more.
``ssh`` (:class:`edgeconv.targets.ssh.Ssh`), ``adb`` (:class:`edgeconv.targets.adb.Adb`) and this machine
(:class:`ShellTransport`) implement it; every target builds on one, so that uploads (``uploads.py``) and
measurements (``runners.py``) are written once for all of them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Protocol

from edgeconv.errors import EdgeconvError

QUICK_S = 60.0  # checks, renames, copies of small files
MIN_BYTES_PER_S = 1e5  # a copy's time limit assumes at least 100 kB/s


class TransportError(EdgeconvError):
    """The device could not be reached, refused us, or a command there failed."""


class ConnectionLost(TransportError):
    """The connection broke during a command (the command may be retried)."""


class Transport(Protocol):
    """Commands and copies on one device."""

    @property
    def label(self) -> str:
        """The device as the user named it, for messages."""
        ...

    def run(self, command: str, what: str, timeout: float, stdin: bytes | None = None) -> tuple[int, str, str]:
        """Run the POSIX shell ``command`` on the device: its exit status, stdout and stderr. Raises
        :class:`TransportError` (:class:`ConnectionLost` when the link broke) with one line saying what failed
        while doing ``what``."""
        ...

    def put(self, local: Path, remote: str, what: str) -> None:
        """Copy ``local`` to ``remote`` on the device atomically: to a temporary name beside it, then renamed."""
        ...


def copy_timeout(local: Path) -> float:
    """The time limit for copying ``local`` to a device."""
    return QUICK_S + local.stat().st_size / MIN_BYTES_PER_S


def check(transport: Transport, command: str, what: str, timeout: float = QUICK_S, stdin: bytes | None = None) -> str:
    """:meth:`Transport.run`, raising :class:`TransportError` with the command's last stderr line unless it
    succeeded; returns its stdout."""
    status, out, err = transport.run(command, what, timeout, stdin)
    if status != 0:
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        reason = lines[-1].removeprefix("Error: ") if lines else f"exit status {status}"
        raise TransportError(f"{what} on {transport.label} failed: {reason}")
    return out


class ShellTransport:
    """This machine: commands run in ``sh``, copies are file copies. ``local`` measures through it; tests use it
    as a device whose file system is a directory here."""

    label = "local"

    def run(self, command: str, what: str, timeout: float, stdin: bytes | None = None) -> tuple[int, str, str]:
        try:
            proc = subprocess.run(["sh", "-c", command], input=stdin, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise TransportError(f"{what} on {self.label} did not finish within {timeout:.0f} s") from None
        return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")

    def put(self, local: Path, remote: str, what: str) -> None:
        part = f"{remote}.part"
        try:
            shutil.copyfile(local, part)
            os.replace(part, remote)
        except OSError as exc:
            Path(part).unlink(missing_ok=True)
            raise TransportError(f"{what} on {self.label} failed: {exc.strerror or exc}") from None
