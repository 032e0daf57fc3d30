"""A real (small) sweep end to end, in a fresh process as a user runs it: search, train, export, evaluate,
measure, select, report; and the measurer's reuse of stored measurements. The sweep's logic (reuse, resume,
lanes) is tested against a known-latency target in test_sweep_logic.py; a killed sweep in tests/reliability."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edgeconv.results import open_store
from edgeconv.runtime.artifact_info import artifact_sha256
from edgeconv.runtime.bench import BenchSettings
from edgeconv.sweep.measurer import Measurer
from edgeconv.targets import get_target
from edgeconv.targets.measure_options import MeasureOptions

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


def test_confirmed_latency_is_a_median_and_reused_afterwards(tiny_onnx: Path, tmp_path: Path) -> None:
    with open_store(tmp_path / "results.sqlite") as store:
        measurer = Measurer(store, get_target("local"), lambda message: None, MeasureOptions(1, FAST))
        first = measurer.latency(tiny_onnx)
        sha = artifact_sha256(tiny_onnx)
        assert len(store.find_benches(sha, measurer.device_id, 1)) == 1 and measurer.reused == 0
        confirmed = measurer.latency(tiny_onnx, samples=3)
        stored = [result for _, result in store.find_benches(sha, measurer.device_id, 1)]
        assert len(stored) == 3 and first in [r.stat("p90") for r in stored]  # the first measurement counts
        assert confirmed == sorted(r.stat("p90") for r in stored)[1]
        assert [row.id for row in measurer.rows(sha)] == [
            row_id for row_id, _ in store.find_benches(sha, measurer.device_id, 1)
        ]
        again = Measurer(store, get_target("local"), lambda message: None, MeasureOptions(1, FAST))
        assert again.latency(tiny_onnx, samples=3) == confirmed and again.latency(tiny_onnx) == confirmed
        assert len(store.find_benches(sha, measurer.device_id, 1)) == 3 and again.reused == 1  # nothing measured again


def test_report_of_stored_measurements_shows_their_profiles_side_by_side(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fixtures = Path(__file__).parent.parent / "fixtures"
    db = tmp_path / "r.sqlite"
    for name in ("tiny_mobilenetv2_fp32.onnx", "tiny_mobilenetv2_fp32.xml"):
        done = cli("bench", fixtures / name, "-t", "1", "--runs", "10", "--min-seconds", "0", "--profile", "--db", db)
        assert done.code == 0, done.stderr
    plain = cli("bench", fixtures / "tiny_mobilenetv2_fp32.onnx", "-t", "1", "--runs", "10", "--db", db)
    assert plain.code == 0 and "where the time goes" not in plain.stdout
    result = cli("report", "--bench", "1", "--bench", "2", "--bench", "3", "--db", db, "--out", tmp_path / "m.html")
    assert result.code == 0, result.stderr
    page, markdown = (tmp_path / "m.html").read_text(), (tmp_path / "m.md").read_text()
    assert page.count('src="data:image/png;base64,') == 1 and (tmp_path / "m_op_kinds.png").stat().st_size > 5000
    assert "#3: no op profile (measured without --profile)" in page and "no roofline" in page  # no peak stored
    assert markdown.count("## Slowest layers of #") == 2 and "## Fastest measurement per op kind" in markdown
    kinds = markdown.split("## Where the time goes")[1].split("\n\n")[1].splitlines()
    assert len(kinds) == 4 and "onnxruntime" in kinds[2] and "openvino" in kinds[3]  # header, rule, two rows
    with open_store(db) as store:
        stored = store.bench_result(2).profile
    assert stored is not None
    pointwise = stored["by_kind"]["pointwise conv"]
    header = [cell.strip() for cell in kinds[0].strip("|").split("|")]
    row = dict(zip(header, (cell.strip() for cell in kinds[3].strip("|").split("|")), strict=True))
    assert row["pointwise conv ms (share, efficiency)"] == f"{pointwise['ms']:.3f} ({pointwise['share']:.0%}, -)"
    assert row["ops sum ms (/ p50)"].startswith(f"{stored['profiled_ms']:.3f} ")
    missing = cli("report", "--bench", "9", "--db", db)
    assert missing.code == 1 and "no benchmark with id 9" in missing.stderr and "Traceback" not in missing.stderr
    both = cli("report", "--bench", "1", "--sweep", tmp_path, "--db", db)
    assert both.code != 0 and "give --sweep or --bench, not both" in both.stderr
