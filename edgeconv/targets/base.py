"""What every target offers: a name, the id of its device, its capabilities and ``measure``. A target is a
transport (``transport.py``: ssh, adb, this machine) with a runner (``runners.py``: edgeconv's bench or a native
tool); ``Board`` adds what a device running edgeconv's own runtime can do."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.measure_options import MeasureOptions

# what a target can do beyond measuring an artifact, so that a command asks instead of checking its class
CAPABILITIES = {
    "eval": "runs artifacts on held-out images through edgeconv's runtime",
    "peak": "measures the device's GEMM peak",
    "setup": "checks and installs edgeconv on the device",
    "conditions": "waits for a cooldown or a temperature before measuring",
}


class Target(Protocol):
    """Where a measurement runs."""

    @property
    def capabilities(self) -> frozenset[str]:
        """What it can do beyond measuring: a subset of :data:`CAPABILITIES`."""
        ...

    @property
    def name(self) -> str: ...

    @property
    def device_id(self) -> str: ...

    def device(self) -> dict[str, Any]:
        """The device's fingerprint (:func:`edgeconv.runtime.device.device_info` as the device computes it)."""
        ...

    def measure(self, path: Path, options: MeasureOptions) -> BenchResult:
        """Benchmark ``path`` on the device with ``options``; the result is not stored (the caller stores it)."""
        ...

    def peak(self, threads: list[int] | None) -> dict[str, Any]:
        """The device's int8 and fp32 GEMM throughput per thread count (:func:`edgeconv.runtime.peak.measure_peak`
        run there); not stored."""
        ...


class Board(Target, Protocol):
    """A target that runs edgeconv's own runtime: it can be checked and set up, and evaluate artifacts."""

    def check(self) -> dict[str, Any]:
        """What the device has (Python, CPU, disk, runtimes) and lacks."""
        ...

    def setup(self, runtime: str, wheel: Path | None = None, wheelhouse: Path | None = None) -> dict[str, Any]:
        """Install edgeconv with ``runtime`` on the device."""
        ...

    def logits(self, path: Path, images: np.ndarray, preprocessing: Preprocessing) -> tuple[np.ndarray, dict[str, Any]]:
        """The artifact's outputs for ``images`` computed on the device, and the device's fingerprint."""
        ...


def board(target: Target, capability: str, message: str) -> Board:
    """``target`` as a :class:`Board`, or ``message`` as a one-line :class:`UsageError` when it lacks
    ``capability`` (``eval`` or ``setup``)."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")
    if capability not in target.capabilities:
        raise UsageError(message)
    return cast(Board, target)


def edgeconv_process() -> list[str]:
    """The command that starts this edgeconv in a new process. ``-P`` (Python 3.11+) keeps the working directory
    off sys.path, where a source checkout's edgeconv/ would shadow the installed package."""
    return [sys.executable, *(["-P"] if sys.version_info >= (3, 11) else []), "-m", "edgeconv"]
