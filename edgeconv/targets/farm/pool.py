"""Several boards of one kind from the farm as one target: ``sweep --target labgrid:board=rpi5 --boards 3``.

The pool takes ``N`` places matching the filter at once (so that they are distinct boards), asks each board for
its fingerprint, and is one target only when the fingerprints agree: its measurements then go to whichever
board is free, ``parallel`` at a time, and are pooled as one device's. Boards that differ are not pooled; the
caller sweeps each on its own (:func:`open_pool` returns their places).
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.farm.places import matching
from edgeconv.targets.farm.session import session_for
from edgeconv.targets.farm.spec import FarmSpec, settings
from edgeconv.targets.farm.target import LabgridTarget
from edgeconv.targets.measure_options import MeasureOptions


class BoardPool:
    """Boards with one fingerprint, measured in parallel (a :class:`~edgeconv.targets.base.Board`)."""

    capabilities = LabgridTarget.capabilities
    queued = True

    def __init__(self, name: str, boards: list[LabgridTarget]) -> None:
        self._name, self.boards = name, boards
        self.parallel = len(boards)
        self._free: queue.Queue[LabgridTarget] = queue.Queue()
        for board in boards:
            self._free.put(board)

    @property
    def name(self) -> str:
        """The filter, or the places, as the user gave them."""
        return self._name

    @contextlib.contextmanager
    def _any(self) -> Iterator[LabgridTarget]:
        board = self._free.get()
        try:
            yield board
        finally:
            self._free.put(board)

    @property
    def device_id(self) -> str:
        return self.boards[0].device_id

    def device(self) -> dict[str, Any]:
        device = self.boards[0].device()
        places = [board.lease.place for board in self.boards]
        return {**device, "farm": {**device["farm"], "place": None, "places": places}}

    def measure(self, path: Path, options: MeasureOptions) -> BenchResult:
        with self._any() as board:
            return board.measure(path, options)

    def peak(self, threads: list[int] | None) -> dict[str, Any]:
        with self._any() as board:
            return board.peak(threads)

    def check(self) -> dict[str, Any]:
        with self._any() as board:
            return board.check()

    def setup(self, runtime: str, wheel: Path | None = None, wheelhouse: Path | None = None) -> dict[str, Any]:
        reports = [board.setup(runtime, wheel, wheelhouse) for board in self.boards]
        return reports[0]

    def logits(self, path: Path, images: np.ndarray, preprocessing: Preprocessing) -> tuple[np.ndarray, dict[str, Any]]:
        with self._any() as board:
            return board.logits(path, images, preprocessing)


def open_pool(specs: list[FarmSpec], count: int, accept_new_host_key: bool = False) -> BoardPool | list[str]:
    """``count`` distinct boards: matching one filter, or the ``count`` places named; a :class:`BoardPool` when
    their fingerprints agree, else the target of each (``labgrid://PLACE/dir``), their places given back, to be
    swept one by one."""
    if all(spec.by_name for spec in specs):
        if len(specs) != count or len({spec.filters["name"] for spec in specs}) != count:
            raise UsageError(f"--boards {count} with named places needs {count} different places (labgrid://PLACE)")
        boards = [LabgridTarget(spec, accept_new_host_key) for spec in specs]
    elif len(specs) == 1:
        spec = specs[0]
        places, _ = session_for(settings.address()).snapshot()
        found = matching(places, spec.filters)
        if len(found) < count:
            names = ", ".join(found) or "none"
            raise UsageError(f"--boards {count}: {len(found)} place(s) match {spec.label} ({names})")
        boards = [LabgridTarget(spec, accept_new_host_key) for _ in range(count)]
    else:
        raise UsageError("--boards takes one farm filter (labgrid:KEY=VALUE) or that many places (labgrid://PLACE)")
    with contextlib.ExitStack() as holding:  # every board held while the next is taken: each gets its own place
        for board in boards:
            holding.enter_context(board.lease.use())
    fingerprints = {board.lease.place: board.device_id for board in boards}
    if len(set(fingerprints.values())) == 1:
        return BoardPool(",".join(spec.label for spec in specs), boards)
    for board in boards:
        board.lease.release()
    return [board.spec.pinned(str(board.lease.place)).label for board in boards]
