"""`target check`, `target setup`, `bench --target` and their failure paths, against a real sshd on loopback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from loopback_sshd import Board


def one_line_error(proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_before_setup_says_what_to_install(board: Board, remote_cli: Any, tmp_path: Path) -> None:
    proc = remote_cli("target", "check", board.target(tmp_path / "fresh"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["python_version"].startswith("3.") and report["disk_free_mb"] > 0
    assert report["device"]["machine"] == os.uname().machine and report["device"]["int8_path"]
    assert not report["in_edgeconv_venv"] and report["edgeconv"] is None
    assert any("edgeconv target setup" in command for command in report["missing"])
    table = remote_cli("target", "check", board.target(tmp_path / "fresh"))
    assert "to do: edgeconv target setup" in table.stdout and "int8 path" in table.stdout


def test_setup_installs_the_wheel_with_one_runtime_and_no_torch(board: Board, remote_cli: Any, installed: str) -> None:
    venv_python = installed.removeprefix(f"ssh://{board.alias}") + "/venv/bin/python"
    probe = "import importlib.util as u; print([m for m in ('torch','onnx','jax','nncf') if u.find_spec(m)])"
    remote = subprocess.run(
        ["ssh", "-F", str(board.ssh_config), board.alias, venv_python, "-c", repr(probe)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert remote.stdout.strip() == "[]"
    site = subprocess.run(
        [
            "ssh",
            "-F",
            str(board.ssh_config),
            board.alias,
            venv_python,
            "-c",
            repr("import edgeconv; print(edgeconv.__file__)"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "/venv/lib/" in site.stdout and "site-packages" in site.stdout  # the wheel, not an editable checkout


def test_bench_over_ssh_copies_once_and_records_the_board(
    board: Board, remote_cli: Any, installed: str, tiny_onnx: Path
) -> None:
    from edgeconv.runtime.device import device_info

    args = ["bench", str(tiny_onnx), "--target", installed, "-t", "1", "--runs", "20", "--min-seconds", "0.2"]
    first = remote_cli(*args, "--json")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["device"]["target"] == installed and result["runs"] >= 20
    assert result["device"]["device_id"] == device_info()["device_id"]  # loopback: the board is this machine
    assert result["artifact"]["path"] == str(tiny_onnx.resolve())
    cached = Path(result["artifact"]["device_path"])
    assert cached.parent.name == result["artifact"]["sha256"] and cached.with_name(cached.name + ".json").is_file()
    copied_at = cached.stat().st_mtime_ns
    second = remote_cli(*args)
    assert second.returncode == 0, second.stderr
    assert "p50 / p90 / p99" in second.stdout
    assert cached.stat().st_mtime_ns == copied_at  # found by hash, not copied again
    assert not [p.name for p in cached.parent.parent.iterdir() if p.name.endswith(".part")]  # no leftovers


def test_peak_of_the_board_is_measured_there_and_stored_here(
    board: Board, remote_cli: Any, installed: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    db = tmp_path / "results.sqlite"
    proc = remote_cli("info", "--peak", "--threads", "1", "--target", installed, "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    peak = json.loads(proc.stdout)["peak"]
    assert peak["target"] == installed and peak["threads"]["1"]["int8_gmacs"] > 0
    (stored,) = sqlite3.connect(db).execute("SELECT device_id, peak_json FROM peaks").fetchall()
    assert stored[0] == peak["device"]["device_id"] and json.loads(stored[1]) == peak
    bench = remote_cli(
        "bench", str(tiny_onnx), "--target", installed, "-t", "1", "--runs", "10", "--db", str(db), "--json"
    )
    assert bench.returncode == 0, bench.stderr
    fraction = json.loads(bench.stdout)["efficiency"]["fraction_of_peak"]
    assert 0 < fraction < 1  # a tiny depthwise network reaches a small part of a fp32 GEMM's throughput


def test_select_asks_a_target_for_its_device_id(
    board: Board, remote_cli: Any, installed: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    from edgeconv.evaluate import EvalResult
    from edgeconv.results import open_store

    db = tmp_path / "results.sqlite"
    bench = remote_cli(
        "bench", str(tiny_onnx), "--target", installed, "-t", "1", "--runs", "10", "--db", str(db), "--json"
    )
    assert bench.returncode == 0, bench.stderr
    measured = json.loads(bench.stdout)
    artifact = measured["artifact"]
    evaluation = EvalResult(
        artifact["path"], "artifact", artifact["sha256"], artifact["model"], "onnx", "fp32", {"kind": "digits"},
        100, 0.8, 1.0, ["a"], [[100]], None, 0.1, "2026-12-03T00:00:00",
    )  # fmt: skip
    with open_store(db) as store:
        store.add_evaluation(evaluation)
    device_id = measured["device"]["device_id"]
    for spec in (installed, device_id[:6]):  # a target asked for its id, a stored id by its prefix
        chosen = remote_cli("select", "--budget-ms", "1000", "--target", spec, "--db", str(db), "--json")
        assert chosen.returncode == 0, chosen.stderr
        assert json.loads(chosen.stdout)["chosen"]["device_id"] == device_id
    # an ssh_config alias is a target, never a device-id prefix that silently matches nothing: this one has no
    # edgeconv in its default directory, and says so
    alias = remote_cli("select", "--budget-ms", "1000", "--target", "edgeconv-board", "--db", str(db))
    lines = alias.stderr.strip().splitlines()
    assert alias.returncode == 1 and len(lines) == 1 and "no candidates" not in lines[0], alias.stderr


def test_runtime_missing_on_the_board(
    board: Board, remote_cli: Any, installed: str, tiny_tflite: Path, tmp_path: Path
) -> None:
    db = tmp_path / "results.sqlite"
    proc = remote_cli("bench", str(tiny_tflite), "--target", installed, "--db", str(db))
    one_line_error(proc, "needs the 'litert' extra")
    assert not db.exists() or sqlite3.connect(db).execute("SELECT COUNT(*) FROM bench").fetchone() == (0,)


def test_unreachable_board(board: Board, remote_cli: Any, tiny_onnx: Path, tmp_path: Path) -> None:
    db = tmp_path / "results.sqlite"
    proc = remote_cli("bench", str(tiny_onnx), "--target", "ssh://127.0.0.1:1", "--db", str(db))
    one_line_error(proc, "cannot reach ssh://127.0.0.1:1: connection refused")
    assert not db.exists()


def test_unknown_host_key_is_refused_unless_accepted(board: Board, remote_cli: Any, tmp_path: Path) -> None:
    (board.root / "empty_known_hosts").write_text("")
    target = board.target(tmp_path / "b", "unknown-key-board")
    one_line_error(remote_cli("target", "check", target), "the host key of unknown-key-board is not known")
    accepted = remote_cli("target", "check", target, "--accept-new-host-key", "--json")
    assert accepted.returncode == 0, accepted.stderr
    assert "ssh-ed25519" in (board.root / "empty_known_hosts").read_text()  # recorded, as ssh does


def test_changed_host_key_is_always_refused(board: Board, remote_cli: Any, tmp_path: Path) -> None:
    target = board.target(tmp_path / "b", "changed-key-board")
    for extra in ([], ["--accept-new-host-key"]):
        one_line_error(remote_cli("target", "check", target, *extra), "the host key of changed-key-board has changed")


def test_wrong_key_is_refused_without_prompting(board: Board, remote_cli: Any, tmp_path: Path) -> None:
    proc = remote_cli("target", "check", board.target(tmp_path / "b", "stranger-board"), timeout=60)
    one_line_error(proc, "stranger-board refused the login")


def test_board_without_python(board: Board, remote_cli: Any, tmp_path: Path) -> None:
    proc = remote_cli("target", "check", board.target(tmp_path / "b", "no-python-board"))
    one_line_error(proc, "has no Python 3")


def test_connection_killed_mid_measurement_stores_nothing(
    board: Board, remote_cli: Any, installed: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    db = tmp_path / "results.sqlite"
    args = ["bench", str(tiny_onnx), "--target", installed, "--min-seconds", "20", "--db", str(db)]
    killer = threading.Timer(4.0, board.kill_connections)
    killer.start()
    proc = remote_cli(*args, timeout=120)
    killer.join()
    one_line_error(proc, "lost the connection")
    assert not db.exists() or sqlite3.connect(db).execute("SELECT COUNT(*) FROM bench").fetchone() == (0,)


def test_eval_on_the_board_reports_its_accuracy_and_agreement(
    remote_cli: Any, installed: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    folder = Path(__file__).parent.parent / "fixtures" / "digits_folder"
    db = tmp_path / "results.sqlite"
    proc = remote_cli("eval", str(tiny_onnx), "--target", installed, "--data", str(folder), "--json", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert record["device"]["target"] == installed and record["num_images"] == 20
    assert record["workstation_agreement"]["top1_agreement"] == 1.0  # loopback: the same CPU and runtime
    assert record["workstation_agreement"]["max_abs_logit_diff"] < 1e-5
    local = remote_cli("eval", str(tiny_onnx), "--data", str(folder), "--json", "--no-store")
    assert json.loads(local.stdout)[0]["top1"] == record["top1"]
    stored = sqlite3.connect(db).execute("SELECT result_json FROM evaluations").fetchall()
    assert len(stored) == 1 and json.loads(stored[0][0])["device"]["target"] == installed


def test_full_disk_on_the_board(remote_cli: Any, board: Board, tiny_onnx: Path, tmp_path: Path) -> None:
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]
    if subprocess.run(mount, capture_output=True, check=False).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        db = tmp_path / "results.sqlite"
        proc = remote_cli("bench", str(tiny_onnx), "--target", board.target(disk), "--db", str(db))
        one_line_error(proc, "No space left on device")
        assert not db.exists()
        assert list((disk / "artifacts").iterdir()) == []  # the half-copied artifact was removed
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_setup_from_a_wheelhouse_installs_offline(remote_cli: Any, board: Board, tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    target = board.target(tmp_path / "offline-board")
    # pip on the board may not reach an index: PIP_NO_INDEX makes any attempt fail
    # without --wheel: setup builds this edgeconv's wheel from its source (the suite's one test of that path)
    proc = remote_cli("target", "setup", target, "--runtime", "onnx", "--wheelhouse", str(wheelhouse), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["in_edgeconv_venv"] and report["runtimes"]["onnxruntime"]
    names = {p.name.split("-")[0].lower() for p in wheelhouse.glob("*.whl")}
    assert {"numpy", "onnxruntime"} <= names  # downloaded here for the board's platform
    copied = {p.name for p in (tmp_path / "offline-board" / "wheels").glob("*.whl")}
    assert {p.name for p in wheelhouse.glob("*.whl")} <= copied


def test_bench_profile_over_ssh_profiles_on_the_board(
    board: Board, remote_cli: Any, installed: str, tiny_onnx: Path
) -> None:
    args = ["bench", str(tiny_onnx), "--target", installed, "-t", "1", "--runs", "20", "--min-seconds", "0.2"]
    done = remote_cli(*args, "--profile", "--json", "--no-store")
    assert done.returncode == 0, done.stderr
    profile = json.loads(done.stdout)["profile"]
    assert profile["profiler"].startswith("onnxruntime") and profile["runs"] == 20
    assert profile["macs"] == json.loads(tiny_onnx.with_name(tiny_onnx.name + ".json").read_text())["model"]["macs"]
