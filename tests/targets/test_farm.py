"""labgrid:// targets against a real labgrid coordinator and exporters on 127.0.0.1 (loopback_farm.py), whose
places are the loopback sshd board: measuring through a place, the queue between two edgeconv processes, a
killed holder and --kick, every exit path giving the place back, and each failure as one line."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from loopback_farm import Farm
    from loopback_sshd import Board

EDGECONV = [sys.executable, "-m", "edgeconv"]


def place_target(installed: str, place: str = "pi-a") -> str:
    """The installed board directory on a place: labgrid://PLACE/DIR."""
    return f"labgrid://{place}{installed.split('edgeconv-board', 1)[1]}"


def env(board: Board, farm: Farm, **extra: str) -> dict[str, str]:
    return {**os.environ, "EDGECONV_SSH_CONFIG": str(board.ssh_config), "LG_COORDINATOR": farm.address, **extra}


def edgeconv(board: Board, farm: Farm, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EDGECONV, *args], env=env(board, farm), capture_output=True, text=True, timeout=timeout, check=False
    )


def start(board: Board, farm: Farm, *args: str) -> subprocess.Popen[str]:
    """edgeconv in the background, in a process group of its own (so that a kill takes its ssh too)."""
    return subprocess.Popen(
        [*EDGECONV, *args],
        env=env(board, farm),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a shell that started the suite in the background (`make test &`) ignores SIGINT, and children inherit
        # that: edgeconv would then never see Ctrl-C; a user's terminal does not ignore it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def places(farm: Farm) -> dict[str, dict[str, Any]]:
    """Each place's state as labgrid-client shows it."""
    shown: dict[str, dict[str, Any]] = {}
    name = ""
    for line in farm.client("-v", "places").stdout.splitlines():
        if line.startswith("Place '"):
            name = line.split("'")[1]
            shown[name] = {}
        elif line.strip().startswith("acquired:"):
            shown[name]["acquired"] = line.split(":", 1)[1].strip()
    return shown


def reservations(farm: Farm) -> str:
    return farm.client("reservations").stdout


def wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def stored_benches(db: Path) -> int:
    return 0 if not db.exists() else int(sqlite3.connect(db).execute("SELECT COUNT(*) FROM bench").fetchone()[0])


def tiny_sweep(min_seconds: float, widths: str = "0.25,0.5") -> list[str]:
    """A sweep of MobileNetV2 ``widths`` at 32 px, one epoch, that fits any board."""
    sweep = ["sweep", "--model", "mobilenetv2", "--widths", widths, "--resolutions", "32", "--format", "onnx"]
    sweep += ["--precision", "fp32", "--epochs", "1", "--runs", "10", "--budget-ms", "1000"]
    return [*sweep, "--min-seconds", str(min_seconds)]


def one_line_error(proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_bench_through_a_place_records_the_place_and_gives_it_back(
    board: Board, farm: Farm, installed: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    args = ["bench", str(tiny_onnx), "-t", "1", "--runs", "20", "--min-seconds", "0.2", "--json"]
    proc = edgeconv(board, farm, *args, "--target", place_target(installed), "--db", str(tmp_path / "r.sqlite"))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["device"]["farm"] == {"place": "pi-a", "tags": {"board": "loopback"}, "coordinator": farm.address}
    assert result["device"]["target"] == place_target(installed)
    over_ssh = edgeconv(board, farm, *args, "--target", installed, "--no-store")
    assert json.loads(over_ssh.stdout)["device"]["device_id"] == result["device"]["device_id"]  # the board's own
    assert places(farm)["pi-a"]["acquired"] == "None" and "pi-a" not in reservations(farm)


def test_a_filter_is_served_by_a_matching_place(board: Board, farm: Farm, installed: str) -> None:
    target = "labgrid:board=loopback" + installed.split("edgeconv-board", 1)[1]
    proc = edgeconv(board, farm, "target", "check", target, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["in_edgeconv_venv"] and report["device"]["farm"]["place"] in ("pi-a", "pi-b")
    listing = json.loads(edgeconv(board, farm, "target", "list", "--json").stdout)
    rows = {row["place"]: row for row in listing["places"]}
    assert rows["pi-a"]["tags"] == {"board": "loopback"} and rows["pi-a"]["board"].endswith(f":{board.port}")


def test_two_processes_on_one_place_are_served_one_after_the_other(
    board: Board, farm: Farm, installed: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    db = tmp_path / "r.sqlite"
    args = ["bench", str(tiny_onnx), "-t", "1", "--runs", "20", "--min-seconds", "2", "--json", "--db", str(db)]
    first = start(board, farm, *args, "--target", place_target(installed))
    wait_for(lambda: places(farm)["pi-a"]["acquired"] != "None", "the first to acquire pi-a")
    second = start(board, farm, *args, "--target", place_target(installed))
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    one, two = (json.loads(out) for out, _ in outputs)
    assert one["measured_until"] <= two["measured_from"]  # never at the same time
    assert "waiting for place pi-a (0 ahead; pi-a held by " in outputs[1][1]
    assert stored_benches(db) == 2


def test_a_killed_holder_is_reported_and_kick_recovers_the_place(
    board: Board, farm: Farm, installed: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    db = tmp_path / "r.sqlite"
    target = place_target(installed, "pi-b")
    holder = start(board, farm, "bench", str(tiny_onnx), "--min-seconds", "10", "--target", target, "--no-store")
    wait_for(lambda: places(farm)["pi-b"]["acquired"] != "None", "the holder to acquire pi-b")
    os.killpg(holder.pid, signal.SIGKILL)  # as a power cut would: no clean-up runs
    holder.wait()
    assert places(farm)["pi-b"]["acquired"].endswith(f"+edgeconv-{holder.pid}")
    args = ["bench", str(tiny_onnx), "-t", "1", "--runs", "10", "--target", target, "--db", str(db)]
    blocked = edgeconv(board, farm, *args, timeout=60)
    one_line_error(blocked, f"place pi-b is held by {places(farm)['pi-b']['acquired']}, an edgeconv that is gone")
    assert "--kick" in blocked.stderr and stored_benches(db) == 0
    kicked = edgeconv(board, farm, *args, "--kick", "--json")
    assert kicked.returncode == 0, kicked.stderr
    assert "released place pi-b from" in kicked.stderr and stored_benches(db) == 1
    assert places(farm)["pi-b"]["acquired"] == "None"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_edgeconv_gives_back_its_place_and_its_place_in_the_queue(
    board: Board, farm: Farm, installed: str, tiny_onnx: Path, signum: int
) -> None:
    target = place_target(installed)
    args = ["bench", str(tiny_onnx), "--min-seconds", "12", "--target", target, "--no-store"]
    holder = start(board, farm, *args)
    wait_for(lambda: places(farm)["pi-a"]["acquired"] != "None", "the holder to acquire pi-a")
    waiter = start(board, farm, *args)
    wait_for(lambda: reservations(farm).count("state: waiting") == 1 or waiter.poll() is not None, "the queue")
    assert waiter.poll() is None, waiter.communicate()
    for process in (waiter, holder):  # both at once: a slow exit of one must not let the other finish first
        process.send_signal(signum)
    for process in (waiter, holder):
        assert process.wait(timeout=30) != 0
    assert "Traceback" not in holder.communicate()[1]
    assert places(farm)["pi-a"]["acquired"] == "None" and "pi-a" not in reservations(farm)
    assert "token" not in reservations(farm)  # neither left a reservation behind


def test_failures_are_one_line_and_store_nothing(
    board: Board, farm: Farm, installed: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    db = tmp_path / "r.sqlite"
    bench = ["bench", str(tiny_onnx), "--db", str(db), "--target"]
    down = subprocess.run(
        [*EDGECONV, *bench, "labgrid://pi-a", "--coordinator", "127.0.0.1:1"],
        env=env(board, farm),
        capture_output=True,
        text=True,
        timeout=60,
    )
    one_line_error(down, "cannot reach the labgrid coordinator at 127.0.0.1:1")
    one_line_error(edgeconv(board, farm, *bench, "labgrid://pi-z"), "the labgrid coordinator has no place pi-z")
    one_line_error(edgeconv(board, farm, *bench, "labgrid:board=jetson"), "no place matches board=jetson")
    farm.client("-p", "bare", "create")
    one_line_error(edgeconv(board, farm, *bench, "labgrid://bare"), "place bare has no NetworkService")
    farm.export("rack-gone", board.alias, board.port)
    farm.place("pi-gone", "rack-gone")
    farm.stop_exporter("rack-gone")
    one_line_error(edgeconv(board, farm, *bench, "labgrid://pi-gone"), "place pi-gone is orphaned")
    one_line_error(edgeconv(board, farm, *bench, "labgrid:Board"), "a farm filter is labgrid:KEY=VALUE")
    assert stored_benches(db) == 0
    assert "token" not in reservations(farm)


@pytest.mark.parametrize("named", [False, True], ids=["filter", "places"])
def test_a_sweep_over_two_places_of_one_kind_uses_both(
    board: Board, farm: Farm, installed: str, tmp_path: Path, named: bool
) -> None:
    db, out = tmp_path / "r.sqlite", tmp_path / "sweep"
    where = installed.split("edgeconv-board", 1)[1]
    targets = [f"labgrid://pi-a{where}", f"labgrid://pi-b{where}"] if named else [f"labgrid:board=loopback{where}"]
    target = ",".join(targets)
    sweep = tiny_sweep(0.05)
    given = [arg for t in targets for arg in ("--target", t)]
    proc = edgeconv(board, farm, *sweep, *given, "--boards", "2", "--out", str(out), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    rows = sqlite3.connect(db).execute("SELECT result_json FROM bench").fetchall()
    used = [json.loads(row[0])["device"]["farm"]["place"] for row in rows]
    assert set(used) == {"pi-a", "pi-b"}, used  # both boards measured
    assert len({json.loads(row[0])["device"]["device_id"] for row in rows}) == 1  # and pooled as one device
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["target"] == target and summary["selection"]["chosen"] is not None
    assert places(farm)["pi-a"]["acquired"] == places(farm)["pi-b"]["acquired"] == "None"


def test_boards_needs_as_many_matching_places(board: Board, farm: Farm, installed: str, tmp_path: Path) -> None:
    sweep = ["sweep", "--model", "mobilenetv2", "--widths", "0.25", "--resolutions", "32", "--budget-ms", "1"]
    proc = edgeconv(board, farm, *sweep, "--target", "labgrid:board=loopback", "--boards", "3", "--out", str(tmp_path))
    one_line_error(proc, "--boards 3: 2 place(s) match labgrid:board=loopback (pi-a, pi-b)")
    twice = ["--target", "labgrid://pi-a", "--target", "labgrid://pi-b", "--boards", "3"]
    one_line_error(
        edgeconv(board, farm, *sweep, *twice, "--out", str(tmp_path)), "--boards 3 with named places needs 3"
    )


def test_two_sweeps_on_a_one_board_farm_take_turns_and_both_finish(
    board: Board, farm: Farm, installed: str, tmp_path: Path
) -> None:
    db = tmp_path / "r.sqlite"
    sweep = [
        *tiny_sweep(0.3, "0.25"),
        "--remeasure",
        "--db",
        str(db),
        "--target",
        place_target(installed, "pi-a"),
        "--json",
    ]
    runs = [start(board, farm, *sweep, "--out", str(tmp_path / name)) for name in ("one", "two")]
    outputs = [p.communicate(timeout=900) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    summaries = [json.loads(out) for out, _ in outputs]
    assert all(s["selection"]["chosen"] is not None for s in summaries)
    rows = [json.loads(r[0]) for r in sqlite3.connect(db).execute("SELECT result_json FROM bench").fetchall()]
    spans = sorted((r["measured_from"], r["measured_until"]) for r in rows)
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans)), spans  # never at once
    # the farm kept them apart, not the board's own lock: no measurement had to wait for it
    assert max(r["lock_wait_s"] for r in rows) < 0.5, [r["lock_wait_s"] for r in rows]
    assert len({(r["artifact"]["sha256"], r["measured_from"]) for r in rows}) == len(rows)  # each stored once
    assert len(rows) >= sum(s["measurements"] for s in summaries)
