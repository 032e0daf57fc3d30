"""A real (small) sweep end to end: search, train, export, evaluate, measure, select, report; repeat and
resume from the database."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeconv.results import open_store
from edgeconv.runtime.artifact_info import artifact_sha256
from edgeconv.runtime.bench import BenchSettings
from edgeconv.sweep import Sweep, SweepConfig
from edgeconv.sweep.search import CONFIRM_SAMPLES
from edgeconv.targets import get_target

SWEEP = [
    "sweep",
    "--model",
    "mobilenetv2",
    "--widths",
    "0.25,0.35,0.5",
    "--resolutions",
    "32",
    "--format",
    "onnx",
    "--precision",
    "fp32",
    "--epochs",
    "1",
    "--runs",
    "10",
    "--min-seconds",
    "0.05",
    "--budget-ms",
    "1000",
]
FAST = BenchSettings(warmup_runs=2, warmup_seconds=0, runs=10, min_seconds=0.05)


@pytest.fixture(scope="module")
def first_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("sweep")
    db, out = work / "results.sqlite", work / "out"
    return db, out, run_sweep(out, db)


def run_sweep(out: Path, db: Path) -> subprocess.CompletedProcess[str]:
    """The small sweep above, in a fresh process, with its JSON summary on stdout."""
    command = [sys.executable, "-m", "edgeconv", *SWEEP, "--out", str(out), "--db", str(db), "--json"]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)


def bench_rows(db: Path) -> list[tuple[str, int]]:
    return sqlite3.connect(db).execute("SELECT artifact_sha256, id FROM bench ORDER BY id").fetchall()


def test_sweep_selects_and_copies_the_winner(first_sweep: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    db, out, proc = first_sweep
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    chosen, found = summary["selection"]["chosen"], summary["selection"]["candidates"]
    # 1 s: all fit; the widest is confirmed by a median of 3
    assert summary["searches"] == [{"resolution": 32, "best_width": 0.5, "measurements": 5}]
    assert [f["width"] for f in summary["finalists"]] == [0.5, 0.35]
    assert sorted(c["width"] for c in found) == [0.35, 0.5]
    assert chosen["top1"] == max(c["top1"] for c in found)  # both fit: the more accurate wins
    selected = sorted(p.name for p in (out / "selected").iterdir())
    assert selected == [chosen["artifact_name"], chosen["artifact_name"] + ".json"]
    assert json.loads((out / "sweep.json").read_text()) == summary
    evaluations = sqlite3.connect(db).execute("SELECT target_name FROM evaluations").fetchall()
    assert sorted(evaluations) == [("mobilenetv2_w0.35_r32_fp32.onnx",), ("mobilenetv2_w0.5_r32_fp32.onnx",)]
    assert "train  w0.5 r32: val top-1" in proc.stderr


def test_repeated_sweep_reuses_every_measurement(
    first_sweep: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    db, out, proc = first_sweep
    before = bench_rows(db)
    again = run_sweep(out, db)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert bench_rows(db) == before  # nothing measured again
    assert summary["reused_measurements"] == len({sha for sha, _ in before})  # confirmed ones hold 3 rows
    assert "done in an earlier run" in again.stderr
    assert (
        summary["selection"]["chosen"]["artifact_sha256"]
        == json.loads(proc.stdout)["selection"]["chosen"]["artifact_sha256"]
    )


def test_report_renders(first_sweep: tuple[Path, Path, subprocess.CompletedProcess[str]], cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, out, _ = first_sweep
    result = cli("report", "--db", db, "--out", tmp_path / "report.html")
    assert result.code == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert "mobilenetv2_w0.35_r32_fp32.onnx" in page and "the most accurate of 2 candidates within budget" in page
    assert "<h2>Device</h2>" in page and "cpu_model" in page
    markdown = (tmp_path / "report.md").read_text()
    assert (
        "![latency plot](report_latency.png)" in markdown and (tmp_path / "report_accuracy.png").stat().st_size > 5000
    )
    from_dir = cli("report", "--sweep", out, "--out", tmp_path / "again.html")
    assert from_dir.code == 0 and (tmp_path / "again.html").is_file()
    missing = cli("report", "--sweep", tmp_path / "nowhere")
    assert missing.code == 1 and "does not exist" in missing.stderr


FINISHED_CANDIDATES = (  # evaluated and measured CONFIRM_SAMPLES times
    "SELECT COUNT(*) FROM (SELECT e.target_sha256 FROM evaluations e JOIN bench b ON b.artifact_sha256 ="
    f" e.target_sha256 GROUP BY e.target_sha256 HAVING COUNT(DISTINCT b.id) >= {CONFIRM_SAMPLES})"
)


def test_killed_sweep_resumes_with_finished_results_intact(tmp_path: Path) -> None:
    db, out = tmp_path / "results.sqlite", tmp_path / "out"
    command = [sys.executable, "-m", "edgeconv", *SWEEP, "--out", str(out), "--db", str(db)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():  # wait until one candidate is evaluated and measured, then kill
                done = sqlite3.connect(db).execute(FINISHED_CANDIDATES).fetchone()[0]
                if done >= 1:
                    break
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (first_eval,) = sqlite3.connect(db).execute("SELECT target_sha256, target_name FROM evaluations").fetchall()
    benches_before = bench_rows(db)
    checkpoint = out / "candidates" / "mobilenetv2_w0.5_r32" / "mobilenetv2_w0.5_r32.pt"  # the widest goes first
    mtime = checkpoint.stat().st_mtime_ns
    resumed = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=900, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.stat().st_mtime_ns == mtime  # the finished candidate was not trained again
    after = bench_rows(db)
    assert after[: len(benches_before)] == benches_before  # every earlier measurement kept
    first_sha = first_eval[0]
    measured_before = sum(1 for sha, _ in benches_before if sha == first_sha)
    assert measured_before == CONFIRM_SAMPLES
    assert sum(1 for sha, _ in after if sha == first_sha) == measured_before  # and not measured again
    names = sqlite3.connect(db).execute("SELECT target_name FROM evaluations").fetchall()
    assert names.count((first_eval[1],)) == 1 and len(names) == 2
    assert len(json.loads(resumed.stdout)["selection"]["candidates"]) == 2


def test_confirmed_latency_is_a_median_and_reused_afterwards(tiny_onnx: Path, tmp_path: Path) -> None:
    config = SweepConfig("mobilenetv2", 1.0, [0.5], [32], format="onnx", precision="fp32", bench=FAST)
    with open_store(tmp_path / "results.sqlite") as store:
        sweep = Sweep(config, tmp_path / "out", store, get_target("local"), lambda message: None)
        first = sweep.latency(tiny_onnx)
        sha = artifact_sha256(tiny_onnx)
        assert len(store.find_benches(sha, sweep.device_id, 1)) == 1 and sweep.reused == 0
        confirmed = sweep.latency(tiny_onnx, samples=3)
        stored = store.find_benches(sha, sweep.device_id, 1)
        assert len(stored) == 3 and first in [r.stat("p90") for r in stored]  # the first measurement counts
        assert confirmed == sorted(r.stat("p90") for r in stored)[1]
        again = Sweep(config, tmp_path / "out", store, get_target("local"), lambda message: None)
        assert again.latency(tiny_onnx, samples=3) == confirmed and again.latency(tiny_onnx) == confirmed
        assert len(store.find_benches(sha, sweep.device_id, 1)) == 3 and again.reused == 1  # nothing measured again
