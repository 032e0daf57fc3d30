"""``local``: this machine, measured by ``edgeconv bench`` in a fresh process, so that the measurement sees only
the runtime (no torch thread pools, an honest peak RSS), exactly as on a device."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeconv.errors import EdgeconvError
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.device import device_info
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.base import bench_arguments, edgeconv_process


@dataclass(frozen=True)
class LocalTarget:
    """This machine, measured through a separate ``python -m edgeconv bench`` process."""

    name: str = "local"
    run_timeout: float = 900.0
    capabilities: frozenset[str] = frozenset({"peak", "conditions"})

    @property
    def device_id(self) -> str:
        return str(device_info()["device_id"])

    def device(self) -> dict[str, Any]:
        return device_info()

    def peak(self, threads: list[int] | None) -> dict[str, Any]:
        from edgeconv.runtime.peak import measure_peak

        return {**measure_peak(threads), "target": self.name}

    def measure(self, path: Path, threads: int | None, settings: BenchSettings, **options: Any) -> BenchResult:
        """Benchmark ``path``; the result is not stored (the caller stores it)."""
        command = [*edgeconv_process(), "bench", str(path), *bench_arguments(threads, settings, options)]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=self.run_timeout, check=False)
        except subprocess.TimeoutExpired:
            raise EdgeconvError(f"measuring {path.name} locally took longer than {self.run_timeout:.0f} s") from None
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1].removeprefix("Error: ")
            raise EdgeconvError(f"measuring {path.name} locally failed: {reason}")
        return BenchResult.from_dict(json.loads(proc.stdout))
