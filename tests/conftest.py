"""Shared fixtures. Torch-free: tests/runtime runs in a device environment without torch."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from tiny_artifacts import TEST_MODEL, copy_tiny


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker (``make test`` runs two, each test file on one of them) keeps to one core of its own, and
    its child processes inherit it, so that two workers' thread pools never spin against each other: every
    runtime then sees one available core. Measured on 2 cores: 478 s for the suite pinned, 832 s unpinned."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own results database and user data dir (nothing touches the real ones)."""
    monkeypatch.setenv("EDGECONV_DB", str(tmp_path / "results.sqlite"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Run the edgeconv CLI in-process (``catch_exceptions=False``: a traceback fails the test)."""
    from edgeconv.cli import main

    runner = CliRunner()

    def run(*args: str) -> CliResult:
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def tiny(tmp_path: Path) -> Callable[[str], Path]:
    """``tiny(kind)``: a private copy of the committed tiny artifact of ``kind`` (onnx, tflite, openvino)."""
    return lambda kind: copy_tiny(kind, tmp_path / "tiny")


@pytest.fixture
def tiny_onnx(tmp_path: Path) -> Path:
    return copy_tiny("onnx", tmp_path / "tiny")


@pytest.fixture
def tiny_tflite(tmp_path: Path) -> Path:
    return copy_tiny("tflite", tmp_path / "tiny")


@pytest.fixture
def tiny_openvino(tmp_path: Path) -> Path:
    return copy_tiny("openvino", tmp_path / "tiny")


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the committed trained test model: MobileNetV2 0.35 at 32 px on the built-in digits
    (``tests/fixtures/make_fixtures.py`` trains it). Workstation tests only: it needs torch to load."""
    path = tmp_path_factory.mktemp("trained") / TEST_MODEL.name
    path.write_bytes(TEST_MODEL.read_bytes())
    return path
