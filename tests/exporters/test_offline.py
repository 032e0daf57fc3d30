"""Exports make no network request: OpenVINO's converter and NNCF send usage telemetry unless told not to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Runs an int8 OpenVINO export (the converter and NNCF) with every socket connection and process fork recorded
# and refused; telemetry goes out from a forked helper on a background thread, so it waits a little at the end.
SCRIPT = """
import json, os, socket, sys, time
attempts = []
real_fork = os.fork
def fork():
    attempts.append("fork")
    return real_fork()
def connect(self, address):
    attempts.append("connect " + repr(address))
    raise OSError("network blocked in this test")
os.fork = fork
socket.socket.connect = connect
from edgeconv.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    time.sleep(3)
    print(json.dumps(attempts))
"""


def test_openvino_export_sends_no_telemetry(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NNCF_CI")}  # as on a user's workstation
    env["HOME"] = str(tmp_path)  # no telemetry consent file from an earlier opt-in or opt-out
    args = ["export", "-m", "mobilenetv2", "-w", "0.25", "-r", "32", "-f", "openvino", "--int8", "-o", str(tmp_path)]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert (tmp_path / "mobilenetv2_w0.25_r32_int8.xml").is_file()
