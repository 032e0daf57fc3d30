"""The device commands (bench, info, results) through the CLI, and with the heavy frameworks unimportable."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BLOCKED = "torch,tensorflow,jax,onnx,nncf,litert_torch,ai_edge_quantizer"
BLOCKED_RUN = Path(__file__).parent.parent / "fixtures" / "blocked_run.py"


def run_blocked(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The edgeconv CLI in a subprocess where the heavy frameworks cannot be imported."""
    return subprocess.run(
        [sys.executable, str(BLOCKED_RUN), BLOCKED, "--", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("kind", ["onnx", "tflite", "openvino"])
def test_bench_and_info_run_with_heavy_frameworks_blocked(kind: str, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = tiny(kind)
    env = {**os.environ, "EDGECONV_DB": str(tmp_path / "device.sqlite")}
    proc = run_blocked("bench", str(model), "--threads", "1", "--runs", "20", "--min-seconds", "0.1", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "p50 / p90 / p99" in proc.stdout
    as_json = run_blocked("bench", str(model), "-t", "1", "--runs", "20", "--min-seconds", "0.1", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    result = json.loads(as_json.stdout)
    assert result["runs"] >= 20 and result["latency_ms"]["p50"] > 0
    info = run_blocked("info", "--json", env=env)
    assert info.returncode == 0, info.stderr
    assert all(json.loads(info.stdout)["backends"].values())
    rows = sqlite3.connect(tmp_path / "device.sqlite").execute("SELECT runs FROM bench ORDER BY id").fetchall()
    assert len(rows) == 2 and rows[1] == (result["runs"],)


def test_blocker_really_blocks() -> None:
    proc = subprocess.run(
        [sys.executable, str(BLOCKED_RUN), "click", "--", "info"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0 and "click is blocked" in proc.stderr


def test_bench_cli_json_stdout_and_results_store(cli, tiny_onnx: Path) -> None:  # type: ignore[no-untyped-def]
    first = cli("bench", tiny_onnx, "-t", "1", "--runs", "10", "--min-seconds", "0", "--warmup", "2", "--json")
    assert first.code == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["schema_version"] == 2 and data["backend"]["settings"]["threads"] == 1
    assert cli("bench", tiny_onnx, "-t", "2", "--runs", "10", "--min-seconds", "0").code == 0
    listed = cli("results", "--json")
    rows = json.loads(listed.stdout)
    assert [r["threads"] for r in rows] == [2, 1]  # newest first
    assert rows[1]["p50_ms"] == data["latency_ms"]["p50"]
    assert all(r["artifact_sha256"] == data["artifact"]["sha256"] for r in rows)
    assert rows[0]["model"] == "mobilenetv2" and rows[0]["width"] == 0.25 and rows[0]["resolution"] == 32
    full = json.loads(cli("results", "--json", "--full", "--limit", "1").stdout)
    assert full[0]["runs"] == rows[0]["runs"] and "samples_ms" in full[0]
    table = cli("results")
    assert "tiny_mobilenetv2_fp32.onnx" in table.stdout


def test_no_store_leaves_database_empty(cli, tiny_onnx: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("bench", tiny_onnx, "-t", "1", "--runs", "3", "--min-seconds", "0", "--no-store").code == 0
    assert "no results" in cli("results").stdout


def test_bad_model_files_give_one_line_and_exit_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage" * 50)
    wrong = tmp_path / "weights.pth"
    wrong.write_bytes(b"x")
    cases = {
        str(tmp_path / "nope.onnx"): "no such model file",
        str(corrupt): "is not a loadable ONNX model",
        str(wrong): "unsupported model file type '.pth'",
    }
    for path, message in cases.items():
        result = cli("bench", path)
        assert result.code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["onnx", "tflite", "openvino"])
def test_truncated_model_in_a_real_process_prints_only_one_line(kind: str, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Runtimes log from native code straight to fd 2 (LiteRT announces its XNNPACK delegate before failing):
    only a real process shows whether the user reads edgeconv's one line and nothing else."""
    model = tiny(kind)
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])
    Path(f"{model}.json").unlink()  # the loader judges the bytes (a sidecar's hash would refuse them first)
    proc = run_blocked("bench", str(model), "--no-store", env={**os.environ, "EDGECONV_DB": str(tmp_path / "db")})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{model.name} is not a loadable" in lines[0], proc.stderr


def test_corrupt_database_is_reported(cli, tiny_onnx: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "broken.sqlite"
    db.write_bytes(b"not sqlite" * 100)
    result = cli("results", "--db", db)
    assert result.code == 1 and "is not an edgeconv results database" in result.stderr


def test_backend_specific_settings(cli, tiny_openvino: Path, tiny_onnx: Path) -> None:  # type: ignore[no-untyped-def]
    ok = cli(
        "bench",
        tiny_openvino,
        "-t",
        "1",
        "--runs",
        "3",
        "--min-seconds",
        "0",
        "--precision-hint",
        "bf16",
        "--json",
        "--no-store",
    )
    assert ok.code == 0, ok.stderr
    assert json.loads(ok.stdout)["backend"]["settings"]["execution_precision"] in (
        "bf16",
        "f32",
    )  # f32 without bf16 units
    wrong = cli("bench", tiny_onnx, "--precision-hint", "f32")
    assert wrong.code == 1 and "the precision hint setting does not apply to onnxruntime models" in wrong.stderr


@pytest.mark.parametrize("kind", ["onnx", "tflite", "openvino"])
def test_eval_runs_on_the_device_without_torch(kind: str, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = tiny(kind)
    folder = Path(__file__).parent.parent / "fixtures" / "digits_folder"
    env = {**os.environ, "EDGECONV_DB": str(tmp_path / "device.sqlite")}
    proc = run_blocked("eval", str(model), "--data", str(folder), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert record["kind"] == "artifact" and record["num_images"] == 20 and record["agreement"] is None
    assert sum(map(sum, record["confusion"])) == 20
    assert record["top1"] == np.trace(np.array(record["confusion"])) / 20
    stored = sqlite3.connect(tmp_path / "device.sqlite").execute("SELECT top1, num_images FROM evaluations").fetchall()
    assert stored == [(record["top1"], 20)]
