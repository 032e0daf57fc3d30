"""``local``: this machine, measured by ``edgeconv bench`` in a fresh process, so that the measurement sees only
the runtime (no torch thread pools, an honest peak RSS), exactly as on a device."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeconv.runtime.device import device_info
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.base import edgeconv_process
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.targets.runners import EdgeconvRunner
from edgeconv.targets.transport import ShellTransport


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

    def measure(self, path: Path, options: MeasureOptions) -> BenchResult:
        """Benchmark ``path``; the result is not stored (the caller stores it)."""
        runner = EdgeconvRunner(tuple(edgeconv_process()))
        return runner.measure(ShellTransport(), str(path), path, options, self.run_timeout)
