"""``Measurer``: latency of an artifact on the target, reusing stored measurements, retrying a lost connection
once, under the sweep's device conditions (cooldown, temperature limit)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeconv.results import ResultsStore
from edgeconv.results_schema import BenchRow
from edgeconv.runtime.artifact_info import artifact_sha256
from edgeconv.runtime.result import BenchResult, median_latency
from edgeconv.targets import ConnectionLost, Target
from edgeconv.targets.measure_options import MeasureOptions

Log = Callable[[str], None]
RETRY_AFTER_S = 5.0


class Measurer:
    """Every measurement of one sweep on one target, with the thread count and settings it measures at."""

    def __init__(
        self,
        store: ResultsStore,
        target: Target,
        log: Log,
        options: MeasureOptions | None = None,
        stat: str = "p90",
        remeasure: bool = False,
    ) -> None:
        """``options``: how each measurement is taken (threads, settings, device conditions); ``remeasure``:
        reuse only measurements taken by this measurer."""
        self.store, self.target, self.log = store, target, log
        self.options, self.stat, self.remeasure = options or MeasureOptions(), stat, remeasure
        if self.options.threads is None:
            raise ValueError("a sweep measures at a given thread count, so that stored results can be reused")
        self.threads: int = self.options.threads
        self.device_id = target.device_id
        self.held: dict[str, list[tuple[int, BenchResult]]] = {}  # by artifact hash, newest first
        self.reused = 0  # artifacts whose measurements an earlier run stored
        self.device: dict[str, Any] | None = None  # the target's fingerprint, from its measurements

    def latency(self, path: Path, samples: int = 1) -> float:
        """The median latency statistic of at least ``samples`` measurements of ``path``: stored ones reused
        (with ``remeasure``, only this run's), the missing ones measured and stored."""
        sha = artifact_sha256(path)
        if sha not in self.held:
            stored = [] if self.remeasure else self.store.find_benches(sha, self.device_id, self.threads)
            self.reused += bool(stored)
            self.held[sha] = stored
        results = self.held[sha]
        while len(results) < samples:
            results.insert(0, self.store.add_bench(self.measure(path)))
        self.device = results[0][1].device
        return median_latency([result for _, result in results], self.stat)

    def rows(self, sha: str) -> list[BenchRow]:
        """The measurements of an artifact this sweep rests on, newest first."""
        return [BenchRow.from_result(row_id, result) for row_id, result in self.held.get(sha, [])]

    def measure(self, path: Path) -> BenchResult:
        """One measurement on the target; a lost connection is retried once, after a pause for the link or the
        board to come back (nothing of the lost one was stored)."""
        try:
            return self.target.measure(path, self.options)
        except ConnectionLost as exc:
            self.log(f"retry  {path.name} in {RETRY_AFTER_S:g} s: {exc}")
            time.sleep(RETRY_AFTER_S)
            return self.target.measure(path, self.options)
