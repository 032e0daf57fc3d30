"""``labgrid://PLACE`` and ``labgrid:KEY=VALUE``: a board of a shared labgrid farm, measured over SSH exactly
as ``ssh://`` measures it (same cache, setup, conditions and validity), each use under a :class:`Lease`."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.farm.lease import Lease
from edgeconv.targets.farm.session import session_for
from edgeconv.targets.farm.spec import FarmSettings, FarmSpec, settings
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.targets.remote import SshTarget
from edgeconv.targets.ssh import SshAddress


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class LabgridTarget:
    """A place of the farm (a :class:`~edgeconv.targets.base.Board`): reserved, acquired and released by the
    coordinator, its board reached at the address its ``NetworkService`` publishes."""

    capabilities = SshTarget.capabilities
    queued = True  # the coordinator's queue keeps its users apart (see targets.fleet.target_lock)

    def __init__(self, spec: FarmSpec, accept_new_host_key: bool = False, farm: FarmSettings | None = None) -> None:
        farm = farm or settings
        self.spec, self.accept_new_host_key, self.coordinator = spec, accept_new_host_key, farm.address()
        self.lease = Lease(session_for(self.coordinator), spec, farm.priority, farm.kick, _say)
        self._board: SshTarget | None = None

    @property
    def name(self) -> str:
        return self.spec.label

    @contextlib.contextmanager
    def board(self) -> Iterator[SshTarget]:
        """The board over SSH, its place held for the block."""
        with self.lease.use() as service:
            if self._board is None:
                user, port = service.get("username") or None, service.get("port")
                address = SshAddress(str(service["address"]), user, port, self.spec.directory)
                self._board = SshTarget(address, self.accept_new_host_key, label=self.name)
            yield self._board

    def _record(self, device: dict[str, Any]) -> dict[str, Any]:
        """The board's fingerprint with where the farm keeps it."""
        farm = {"place": self.lease.place, "tags": self.lease.tags, "coordinator": self.coordinator}
        return {**device, "target": self.name, "farm": farm}

    @property
    def device_id(self) -> str:
        return str(self.device()["device_id"])

    def device(self) -> dict[str, Any]:
        with self.board() as board:
            return self._record(board.device())

    def measure(self, path: Path, options: MeasureOptions) -> BenchResult:
        with self.board() as board:
            result = board.measure(path, options)
        result.device = self._record(result.device)
        return result

    def peak(self, threads: list[int] | None) -> dict[str, Any]:
        with self.board() as board:
            return {**board.peak(threads), "target": self.name}

    def check(self) -> dict[str, Any]:
        with self.board() as board:
            report = board.check()
        return {**report, "device": self._record(report["device"])}

    def setup(self, runtime: str, wheel: Path | None = None, wheelhouse: Path | None = None) -> dict[str, Any]:
        with self.board() as board:
            report = board.setup(runtime, wheel, wheelhouse)
        return {**report, "device": self._record(report["device"])}

    def logits(self, path: Path, images: np.ndarray, preprocessing: Preprocessing) -> tuple[np.ndarray, dict[str, Any]]:
        with self.board() as board:
            logits, device = board.logits(path, images, preprocessing)
        return logits, self._record(device)
