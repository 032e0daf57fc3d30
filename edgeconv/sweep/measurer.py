"""``Measurer``: latency of an artifact on the target, reusing stored measurements, retrying a lost connection
once, under the sweep's device conditions (cooldown, temperature limit)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgeconv.errors import EdgeconvError
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
        self.parallel = max(1, int(getattr(target, "parallel", 1)))  # boards measuring at once (a farm's pool)
        self.device_id = target.device_id
        self.held: dict[str, list[tuple[int, BenchResult]]] = {}  # by artifact hash, newest first
        self.reused = 0  # artifacts whose measurements an earlier run stored
        self.device: dict[str, Any] | None = None  # the target's fingerprint, from its measurements

    def latency(self, path: Path, samples: int = 1) -> float:
        """The median latency statistic of at least ``samples`` measurements of ``path``: stored ones reused
        (with ``remeasure``, only this run's), the missing ones measured and stored."""
        results = self._held(path)
        missing = samples - len(results)
        if missing > 1 and self.parallel > 1:
            for result in self._measure_many([path] * missing):
                results.insert(0, self.store.add_bench(result))
        while len(results) < samples:
            results.insert(0, self.store.add_bench(self.measure(path)))
        self.device = results[0][1].device
        return median_latency([result for _, result in results], self.stat)

    def prefetch(self, paths: list[Path]) -> None:
        """With several boards (``parallel``), measure once, at once, each of ``paths`` not measured yet, so that
        the search's next probes find them; with one board, nothing (each is measured when it is asked for)."""
        if self.parallel < 2:
            return
        todo = [path for path in paths if not self._held(path)]
        for path, result in zip(todo, self._measure_many(todo), strict=True):
            self._held(path).insert(0, self.store.add_bench(result))

    def profile(self, path: Path) -> dict[str, Any]:
        """The op profile of ``path`` on the target: one that a measurement held for it carries, else one
        measurement taken with profiling (stored, and one of the artifact's measurements like any other)."""
        for _, result in self._held(path):
            if result.profile:
                return result.profile
        row_id, stored = self.store.add_bench(self.measure(path, replace(self.options, profile=True)))
        self._held(path).insert(0, (row_id, stored))
        if stored.profile is None:
            raise EdgeconvError(f"{self.target.name} measured {path.name} without an op profile")
        return stored.profile

    def _held(self, path: Path) -> list[tuple[int, BenchResult]]:
        sha = artifact_sha256(path)
        if sha not in self.held:
            stored = [] if self.remeasure else self.store.find_benches(sha, self.device_id, self.threads)
            self.reused += bool(stored)
            self.held[sha] = stored
        return self.held[sha]

    def _measure_many(self, paths: list[Path]) -> list[BenchResult]:
        """Measurements of ``paths`` on the target's boards, ``parallel`` at a time (stored by the caller, in
        this thread: the database connection is this thread's)."""
        with ThreadPoolExecutor(max_workers=min(self.parallel, max(1, len(paths)))) as pool:
            return list(pool.map(self.measure, paths))

    def rows(self, sha: str) -> list[BenchRow]:
        """The measurements of an artifact this sweep rests on, newest first."""
        return [BenchRow.from_result(row_id, result) for row_id, result in self.held.get(sha, [])]

    def measure(self, path: Path, options: MeasureOptions | None = None) -> BenchResult:
        """One measurement on the target (with ``options``, else the sweep's); a lost connection is retried
        once, after a pause for the link or the board to come back (nothing of the lost one was stored)."""
        options = options or self.options
        try:
            return self.target.measure(path, options)
        except ConnectionLost as exc:
            self.log(f"retry  {path.name} in {RETRY_AFTER_S:g} s: {exc}")
            time.sleep(RETRY_AFTER_S)
            return self.target.measure(path, options)
