"""Where latency is measured. ``local`` runs ``edgeconv bench`` in a fresh process on this machine, so that
the measurement sees only the runtime (no torch thread pools, an honest peak RSS), exactly as on a device.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from edgeconv.errors import EdgeconvError, UsageError
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.device import device_info
from edgeconv.runtime.result import BenchResult

TARGETS = ("local",)


@dataclass(frozen=True)
class LocalTarget:
    """This machine, measured through a separate ``python -m edgeconv bench`` process."""

    name: str = "local"

    @property
    def device_id(self) -> str:
        return str(device_info()["device_id"])

    def measure(self, path: Path, threads: int, settings: BenchSettings, timeout: float = 900) -> BenchResult:
        """Benchmark ``path`` with ``threads`` threads; the result is not stored (the caller stores it)."""
        command = [
            sys.executable,
            "-m",
            "edgeconv",
            "bench",
            str(path),
            "--threads",
            str(threads),
            "--warmup",
            str(settings.warmup_runs),
            "--warmup-seconds",
            str(settings.warmup_seconds),
            "--runs",
            str(settings.runs),
            "--min-seconds",
            str(settings.min_seconds),
            "--max-seconds",
            str(settings.max_seconds),
            "--json",
            "--no-store",
        ]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise EdgeconvError(f"measuring {path.name} on {self.name} took longer than {timeout:.0f} s") from None
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise EdgeconvError(f"measuring {path.name} on {self.name} failed: {reason}")
        return BenchResult.from_dict(json.loads(proc.stdout))


def get_target(name: str) -> LocalTarget:
    """The target called ``name``."""
    if name != "local":
        raise UsageError(f"unknown target {name!r}; targets: {', '.join(TARGETS)}")
    return LocalTarget()
