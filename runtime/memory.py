"""Resident memory of this process, from the kernel's own accounting (no psutil on the device)."""

from __future__ import annotations

import sys


def current_rss_mb() -> float | None:
    """Current resident set size in MiB (Linux /proc), or None where unavailable."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peak_rss_mb() -> float | None:
    """Peak resident set size of this process in MiB (getrusage), or None where unavailable."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
