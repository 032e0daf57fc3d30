"""labgrid:// against ssh:// on the same board: a real labgrid coordinator and exporter on 127.0.0.1 whose place is
a real sshd on 127.0.0.1 (a board that is this machine), measured both ways, interleaved.

MobileNetV2 0.75 at 224 px, int8 ONNX, 1 thread. Reports the median p50 of each path over the rounds and their
ratio (goal: 0.95-1.05); the overhead per candidate (median wall time of one measurement through the farm minus
one over ssh), both with the place still held from the previous measurement (as in a sweep's search) and with a
fresh reservation each time (cold: reserve, wait, acquire, release, cancel); and the hand-off: how long a second
user's edgeconv, queued for the place, waits after the first one's measurement ends, against two ssh:// users
kept apart by the board's own lock. Writes benchmarks/results/farm.{json,md}.

    python benchmarks/farm.py              # 6 rounds
    python benchmarks/farm.py --rounds 2   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "targets"))

from loopback_farm import Farm  # noqa: E402
from loopback_sshd import create_board  # noqa: E402
from remote import RESULTS, SETTINGS, artifacts, timed  # noqa: E402  (benchmarks/remote.py)

from edgeconv.runtime.device import device_info  # noqa: E402
from edgeconv.targets import SshTarget  # noqa: E402
from edgeconv.targets.farm.lease import release_all  # noqa: E402
from edgeconv.targets.farm.spec import parse_farm  # noqa: E402
from edgeconv.targets.farm.target import LabgridTarget  # noqa: E402
from edgeconv.targets.measure_options import MeasureOptions  # noqa: E402
from edgeconv.targets.ssh import parse_ssh  # noqa: E402

OPTIONS = MeasureOptions(threads=1, settings=SETTINGS)


def hand_off(file: Path, target: str, env: dict[str, str]) -> dict[str, float]:
    """Two edgeconv processes asking for ``target`` at once: the gap between the first's measurement's end and
    the second's start, and the second's wait in all."""
    args = [sys.executable, "-m", "edgeconv", "bench", str(file), "-t", "1", "--runs", "50", "--min-seconds", "3"]
    args += ["--target", target, "--no-store", "--json"]
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # the first one holds the board by now
    second = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    one, two = (json.loads(p.communicate(timeout=300)[0]) for p in (first, second))
    gap = two["measured_from"] - one["measured_until"]  # unix seconds: the board's clock for both
    return {"gap_s": round(gap, 3), "second_lock_wait_s": round(two.get("lock_wait_s") or 0.0, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgeconv-farm-"))
    board = create_board(work / "sshd")
    farm = Farm(work / "farm")
    os.environ["EDGECONV_SSH_CONFIG"] = str(board.ssh_config)
    try:
        farm.start()
        farm.export("rack", board.alias, board.port)
        farm.place("pi-a", "rack", board="loopback")
        os.environ["LG_COORDINATOR"] = farm.address
        (file,) = artifacts(work / "exports", ("onnx",))
        ssh_spec = board.target(work / "board")
        farm_spec = "labgrid://pi-a" + str(work / "board")
        ssh = SshTarget(parse_ssh(ssh_spec))
        _, setup_s = timed(ssh.setup, "onnx", None, None)
        lab = LabgridTarget(parse_farm(farm_spec))
        ssh.measure(file, OPTIONS)  # the copy, once, for both (one board, one cache)
        p50: dict[str, list[float]] = {"ssh": [], "labgrid": [], "labgrid_cold": []}
        walls: dict[str, list[float]] = {name: [] for name in p50}
        for index in range(args.rounds):
            order = ["ssh", "labgrid", "labgrid_cold"]
            for name in order if index % 2 == 0 else order[::-1]:
                if name == "labgrid_cold":
                    lab.lease.release()  # the next measurement reserves and acquires afresh
                result, wall = timed((ssh if name == "ssh" else lab).measure, file, OPTIONS)
                p50[name].append(result.latency_ms.p50)
                walls[name].append(wall)
                print(f"round {index + 1} {name}: p50 {result.latency_ms.p50:.3f} ms, {wall:.2f} s", flush=True)
        release_all()
        env = {**os.environ}
        handoffs = {"labgrid": hand_off(file, farm_spec, env), "ssh": hand_off(file, ssh_spec, env)}
    finally:
        release_all()
        farm.stop()
        board.stop()
    medians = {name: statistics.median(values) for name, values in p50.items()}
    wall = {name: statistics.median(values) for name, values in walls.items()}
    record = {
        "artifact": file.name,
        "p50_ms": {k: round(v, 4) for k, v in medians.items()},
        "ratio_labgrid_to_ssh": round(medians["labgrid"] / medians["ssh"], 4),
        "ratio_cold_to_ssh": round(medians["labgrid_cold"] / medians["ssh"], 4),
        "overhead_per_candidate_s": {
            "held": round(wall["labgrid"] - wall["ssh"], 3),
            "cold": round(wall["labgrid_cold"] - wall["ssh"], 3),
        },
        "wall_s": {k: round(v, 3) for k, v in wall.items()},
        "hand_off": handoffs,
        "rounds": {k: [round(v, 4) for v in values] for k, values in p50.items()},
        "setup_s": round(setup_s, 1),
        "settings": SETTINGS.__dict__,
        "device": device_info(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "farm.json").write_text(json.dumps(record, indent=2) + "\n")
    over = record["overhead_per_candidate_s"]
    lines = [
        "# labgrid:// against ssh:// on one board, interleaved (benchmarks/farm.py)",
        "",
        f"{file.name}: MobileNetV2 0.75, 224 px, int8 ONNX, 1 thread, {args.rounds} interleaved rounds, "
        f"{SETTINGS.runs}+ runs and {SETTINGS.min_seconds} s+ per measurement. The board is this machine behind a "
        "real sshd on 127.0.0.1; the farm a real labgrid 26.0.1 coordinator and exporter on 127.0.0.1.",
        "",
        "| path | p50 ms (median of rounds) | ratio to ssh | wall s per measurement |",
        "|---|---|---|---|",
    ]
    for name, label in (("ssh", "ssh://"), ("labgrid", "labgrid://, place held"), ("labgrid_cold", "labgrid://, cold")):
        ratio = medians[name] / medians["ssh"]
        lines.append(f"| {label} | {medians[name]:.3f} | {ratio:.3f} | {wall[name]:.2f} |")
    lines += [
        "",
        f"Overhead per candidate: {over['held']:+.3f} s with the place held from the previous measurement (a sweep's "
        f"search), {over['cold']:+.3f} s with a fresh reservation each time (reserve, poll, acquire, release, "
        "cancel); target: within 0.2 s.",
        "",
        "Hand-off (a second user's edgeconv queued while the first one measures): gap from the end of the first "
        f"measurement to the start of the second: labgrid:// {handoffs['labgrid']['gap_s']:.2f} s, ssh:// (two users "
        f"kept apart by the board's own lock) {handoffs['ssh']['gap_s']:.2f} s. Both include the second process's "
        "ssh connection and bench start-up on the board.",
        "",
        f"CPU: {record['device']['cpu_model']} ({record['device']['int8_path']}).",
        "",
    ]
    (RESULTS / "farm.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
