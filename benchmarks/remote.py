"""The ssh:// measurement path against the local one: the same artifacts measured through a real OpenSSH server
on 127.0.0.1 (a board that is this machine) and locally, interleaved, so that the only difference is the path.

MobileNetV2 0.75 at 224 px, int8 TFLite and int8 ONNX, 1 thread. Reports, per artifact, the median p50 of each
path over the rounds and their ratio (goal: 0.95-1.05), and the overhead of the remote path per candidate in
seconds (wall time of one remote measurement minus one local one, copies excluded; the one-time copy and the
one-time `target setup` are reported separately). Writes benchmarks/results/remote.{json,md}.

    python benchmarks/remote.py              # 6 rounds
    python benchmarks/remote.py --rounds 2   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "targets"))

from loopback_sshd import create_board  # noqa: E402

from edgeconv.exporters import export  # noqa: E402
from edgeconv.exporters.calibration import load_calibration  # noqa: E402
from edgeconv.models import create_model  # noqa: E402
from edgeconv.models.factory import estimate_batchnorm_statistics  # noqa: E402
from edgeconv.runtime.bench import BenchSettings  # noqa: E402
from edgeconv.runtime.device import device_info  # noqa: E402
from edgeconv.runtime.preprocess import Preprocessing  # noqa: E402
from edgeconv.targets import LocalTarget, SshTarget  # noqa: E402
from edgeconv.targets.measure_options import MeasureOptions  # noqa: E402
from edgeconv.targets.ssh import parse_ssh  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SETTINGS = BenchSettings(warmup_runs=20, warmup_seconds=0.5, runs=100, min_seconds=2.0)


def artifacts(work: Path, formats: tuple[str, ...] = ("tflite", "onnx")) -> list[Path]:
    """MobileNetV2 0.75 at 224 px, int8, in each of ``formats`` (random weights, BatchNorm statistics set)."""
    torch.manual_seed(0)
    model = estimate_batchnorm_statistics(create_model("mobilenetv2", 0.75, 1000, 224), 224)
    calibration, _ = load_calibration("digits", None, Preprocessing(224), size=100)
    return [Path(export(model, fmt, "int8", calibration, work).path) for fmt in formats]


def timed(measure: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = measure(*args)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgeconv-remote-"))
    board = create_board(work / "sshd")
    os.environ["EDGECONV_SSH_CONFIG"] = str(board.ssh_config)
    try:
        files = artifacts(work / "exports")
        remote = SshTarget(parse_ssh(board.target(work / "board")))
        setup_s = {}
        for runtime in ("litert", "onnx"):
            _, setup_s[runtime] = timed(remote.setup, runtime, None, None)
        copy_s = {f.name: timed(remote.upload_artifact, f)[1] for f in files}
        local = LocalTarget()
        samples: dict[str, dict[str, list[float]]] = {f.name: {"local": [], "ssh": []} for f in files}
        walls: dict[str, dict[str, list[float]]] = {f.name: {"local": [], "ssh": []} for f in files}
        for round_index in range(args.rounds):
            for file in files:
                order = [("local", local), ("ssh", remote)]
                for name, target in order if round_index % 2 == 0 else order[::-1]:
                    result, wall = timed(target.measure, file, MeasureOptions(threads=1, settings=SETTINGS))
                    samples[file.name][name].append(result.latency_ms.p50)
                    walls[file.name][name].append(wall)
                    print(f"round {round_index + 1} {file.name} {name}: p50 {result.latency_ms.p50:.3f} ms", flush=True)
    finally:
        board.stop()
    rows = []
    for file in files:
        p50 = {name: statistics.median(values) for name, values in samples[file.name].items()}
        overhead = statistics.median(walls[file.name]["ssh"]) - statistics.median(walls[file.name]["local"])
        rows.append(
            {
                "artifact": file.name,
                "local_p50_ms": round(p50["local"], 4),
                "ssh_p50_ms": round(p50["ssh"], 4),
                "ratio": round(p50["ssh"] / p50["local"], 4),
                "within_0.95_1.05": 0.95 <= p50["ssh"] / p50["local"] <= 1.05,
                "overhead_per_candidate_s": round(overhead, 3),
                "first_copy_s": round(copy_s[file.name], 3),
                "rounds": {name: [round(v, 4) for v in values] for name, values in samples[file.name].items()},
            }
        )
    record = {"rows": rows, "setup_s": setup_s, "settings": SETTINGS.__dict__, "device": device_info()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "remote.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# ssh:// against local: the same artifacts, interleaved (benchmarks/remote.py)",
        "",
        f"MobileNetV2 0.75, 224 px, 1 thread, {args.rounds} interleaved rounds, {SETTINGS.runs}+ runs and "
        f"{SETTINGS.min_seconds} s+ per measurement; the board is this machine behind a real sshd on 127.0.0.1.",
        "",
        "| artifact | local p50 ms | ssh p50 ms | ratio | within 0.95-1.05 | overhead per candidate s | first copy s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['artifact']} | {r['local_p50_ms']:.3f} | {r['ssh_p50_ms']:.3f} | {r['ratio']:.3f} | "
            f"{'yes' if r['within_0.95_1.05'] else 'NO'} | {r['overhead_per_candidate_s']:.2f} | "
            f"{r['first_copy_s']:.2f} |"
        )
    setup = ", ".join(f"{k} {v:.0f} s" for k, v in setup_s.items())
    lines += ["", f"`edgeconv target setup` (wheel built here, venv and pip install on the board): {setup}."]
    lines += [f"CPU: {record['device']['cpu_model']} ({record['device']['int8_path']}).", ""]
    (RESULTS / "remote.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
