"""A sweep measured on a board over SSH, with the connection cut in the middle."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeconv.results import open_store
from edgeconv.runtime.bench import BenchSettings
from edgeconv.sweep import SweepConfig, plan_sweep, run_sweep
from edgeconv.targets import get_target
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.train import TrainConfig

if TYPE_CHECKING:
    from loopback_sshd import Board

FAST = BenchSettings(warmup_runs=2, warmup_seconds=0, runs=10, min_seconds=0.05)
LONG_ENOUGH_TO_CUT = BenchSettings(warmup_runs=2, warmup_seconds=0, runs=10, min_seconds=3.0)
CONFIG = SweepConfig(
    model="mobilenetv2",
    budget_ms=1000.0,
    widths=[0.25, 0.35],
    resolutions=[32],
    format="onnx",
    precision="fp32",
    train=TrainConfig(epochs=1),
    bench=FAST,
)


@dataclass
class CutSecondMeasurement:
    """The board's real target; its second measurement runs 3 s and one second into it every connection to the
    board is cut."""

    target: Any
    board: Board
    calls: int = 0

    @property
    def name(self) -> str:
        return str(self.target.name)

    @property
    def device_id(self) -> str:
        return str(self.target.device_id)

    def device(self) -> dict[str, Any]:
        return dict(self.target.device())

    def measure(self, path: Path, options: MeasureOptions) -> Any:
        self.calls += 1
        if self.calls == 2:
            options = dataclasses.replace(options, settings=LONG_ENOUGH_TO_CUT)
            threading.Timer(1.0, self.board.kill_connections).start()
        return self.target.measure(path, options)


def test_sweep_over_ssh_survives_a_cut_connection_and_resumes(board: Board, installed: str, tmp_path: Path) -> None:
    log: list[str] = []
    db = tmp_path / "results.sqlite"
    cutting = CutSecondMeasurement(get_target(installed), board)
    with open_store(db) as store:
        summary = run_sweep(plan_sweep(CONFIG), tmp_path / "out", store, cutting, log.append)
    assert any(line.startswith("retry") and "lost the connection" in line for line in log), log
    assert summary["target"] == installed and summary["selection"]["chosen"] is not None
    rows = sqlite3.connect(db).execute("SELECT id, result_json FROM bench ORDER BY id").fetchall()
    assert len(rows) == cutting.calls - 1  # every measurement but the cut one was stored, none twice
    assert all('"samples_ms"' in text and '"device_path"' in text for _, text in rows)  # complete board results

    with open_store(db) as store:
        again = run_sweep(plan_sweep(CONFIG), tmp_path / "out", store, get_target(installed), log.append)
    assert again["reused_measurements"] >= summary["measurements"]
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM bench").fetchone() == (len(rows),)  # nothing new
