"""Two sweeps into one --out directory: the second refuses at once, in one line, and the first finishes."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from pathlib import Path

from edgeconv.targets.base import edgeconv_process

SWEEP = [
    "sweep", "--model", "mobilenetv2", "--widths", "0.35", "--resolutions", "32", "--format", "onnx",
    "--precision", "fp32", "--epochs", "1", "--runs", "10", "--min-seconds", "0.1", "--budget-ms", "100",
]  # fmt: skip


def _locked(path: Path) -> bool:
    """Whether another process holds the lock on ``path`` (tested with a real flock, released at once)."""
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_a_second_sweep_into_the_same_out_refuses(tmp_path: Path) -> None:
    out, db = tmp_path / "out", tmp_path / "r.sqlite"
    command = [*edgeconv_process(), *SWEEP, "--out", str(out), "--db", str(db)]
    first = subprocess.Popen([*command, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _locked(out / ".sweep.lock"):
        assert first.poll() is None and time.monotonic() < deadline, "the first sweep never took its lock"
        time.sleep(0.1)
    second = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    lines = second.stderr.strip().splitlines()
    assert second.returncode == 1 and len(lines) == 1, second.stderr
    assert f"another sweep is writing to {out}" in lines[0] and "give another --out" in lines[0]
    stdout, stderr = first.communicate(timeout=900)
    assert first.returncode == 0, stderr
    assert json.loads(stdout)["selection"]["chosen"] is not None
    assert not _locked(out / ".sweep.lock")  # released with its process
