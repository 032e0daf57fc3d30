"""Resident memory of this process, from the kernel's own accounting (no psutil on the device)."""

from __future__ import annotations

import sys


def _status_mb(field: str) -> float | None:
    """A ``/proc/self/status`` size field (Linux) in MiB, or None where unavailable."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def current_rss_mb() -> float | None:
    """Current resident set size in MiB (Linux /proc), or None where unavailable."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float | None:
    """Peak resident set size of this process in MiB, or None where unavailable. Linux: the address space's own
    high-water mark (VmHWM); getrusage's would do too, but Linux carries it across exec, so a process started
    by a larger one reported its parent's peak."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak_units = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak_units / (1024 * 1024) if sys.platform == "darwin" else peak_units / 1024  # bytes on macOS
