"""The board of these tests: a real OpenSSH server on 127.0.0.1 (loopback_sshd.py), one per test session.

CI installs openssh-server (`.ci/run`); elsewhere the tests are skipped when there is no sshd.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from built_dists import wheel_args
from loopback_sshd import SSHD, Board, create_board


@pytest.fixture(scope="session")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    if not Path(SSHD).is_file():
        if os.environ.get("CI"):
            pytest.fail("CI installs openssh-server; sshd is missing")
        pytest.skip("no OpenSSH server here (apt-get install openssh-server)")
    server = create_board(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


EDGECONV = [sys.executable, "-m", "edgeconv"]


def run(board: Board, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EDGECONV_SSH_CONFIG": str(board.ssh_config)}
    return subprocess.run([*EDGECONV, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def installed(board: Board, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A board directory with edgeconv[onnx] installed by `edgeconv target setup` (once per test session)."""
    directory = tmp_path_factory.mktemp("board-home")
    target = board.target(directory)
    started = time.monotonic()
    proc = run(board, "target", "setup", target, "--runtime", "onnx", *wheel_args(), "--json", timeout=1200)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["in_edgeconv_venv"] and report["runtimes"]["onnxruntime"].startswith("onnxruntime ")
    assert report["missing"] == [] and report["edgeconv"] == "0.1.0"
    print(f"target setup took {time.monotonic() - started:.0f} s")
    return target


@pytest.fixture
def remote_cli(board: Board) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``remote_cli(*args, timeout=...)``: the edgeconv CLI in a fresh process, with the board's ssh_config."""
    return functools.partial(run, board)


@pytest.fixture(autouse=True)
def ssh_config(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here uses the board's ssh_config, never the user's."""
    if "board" in request.fixturenames:
        monkeypatch.setenv("EDGECONV_SSH_CONFIG", str(request.getfixturevalue("board").ssh_config))


@pytest.fixture(scope="session")
def farm(board: Board, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A labgrid coordinator and exporter on 127.0.0.1: places ``pi-a`` and ``pi-b`` (tags board=loopback) are
    the loopback sshd, each through its own exporter (two places of one kind, as two Pis of a rack)."""
    import importlib.util

    if importlib.util.find_spec("labgrid") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs edgeconv[farm]; labgrid is missing")
        pytest.skip("labgrid is not installed (pip install 'edgeconv[farm]')")
    from loopback_farm import Farm

    farm = Farm(tmp_path_factory.mktemp("farm"))
    farm.start()
    try:
        for name in ("a", "b"):
            farm.export(f"rack-{name}", board.alias, board.port)
            farm.place(f"pi-{name}", f"rack-{name}", board="loopback")
        yield farm
    finally:
        farm.stop()
