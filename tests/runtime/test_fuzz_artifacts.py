"""Fuzzed artifacts (hypothesis, seeded): a model file truncated at any offset, bit-flipped, empty, another
format behind the suffix, an OpenVINO .xml without its .bin or with a .bin of the wrong size, a sidecar that is
malformed or describes another file. ``edgeconv bench`` runs each in its own process (a native loader that
crashed would show as a signal), and must either measure a still-valid file or fail in one line naming the
file, exit status 1 or 2, no traceback, nothing stored.

The fast part of the reliability suite; benchmarks/reliability.py runs the same property by the thousand.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fuzzing import fresh, fuzz_settings, judge
from hypothesis import given, seed
from hypothesis import strategies as st

from edgeconv.runtime.artifact_info import sidecar_path
from edgeconv.targets.base import edgeconv_process

sys.path.insert(0, str(Path(__file__).parent.parent))
from tiny_artifacts import FIXTURES, TINY, copy_tiny

FUZZ = fuzz_settings(12)
KINDS = list(TINY)
BENCH = ["-t", "1", "--warmup", "1", "--warmup-seconds", "0", "--runs", "3", "--min-seconds", "0", "--json"]


def bench(path: Path, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EDGECONV_DB": str(db)}
    return subprocess.run(
        [*edgeconv_process(), "bench", str(path), *BENCH],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def check(proc: subprocess.CompletedProcess[str], names: tuple[str, ...], db: Path, may_run: bool) -> None:
    """The property: a clean one-line refusal naming the file, or (where the bytes may still form a valid model)
    a measurement; never a signal or a traceback; a refusal stores nothing."""
    stored = db.exists() and sqlite3.connect(db).execute("SELECT COUNT(*) FROM bench").fetchone() != (0,)
    judge(proc.returncode, proc.stderr, stored and proc.returncode != 0, names)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-500:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    if proc.returncode == 0:
        assert may_run, proc.stdout[:300]
        assert json.loads(proc.stdout)["runs"] >= 3
        return
    assert proc.returncode in (1, 2) and len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert any(name in lines[0] for name in names), lines[0]
    assert not stored


def _files(kind: str, root: Path) -> tuple[Path, Path | None]:
    main = copy_tiny(kind, root)
    return main, main.with_suffix(".bin") if kind == "openvino" else None


@pytest.fixture
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifact")


@seed(14)
@FUZZ
@given(kind=st.sampled_from(KINDS), cut=st.floats(0, 1, exclude_max=True), companion=st.booleans())
def test_truncated_files(base: Path, kind: str, cut: float, companion: bool) -> None:
    root = fresh(base)
    main, weights = _files(kind, root)
    target = weights if companion and weights is not None else main
    data = target.read_bytes()
    target.write_bytes(data[: int(cut * len(data))])
    sidecar_path(main).unlink()  # the bytes are judged, not the sidecar's hash (tested below)
    check(bench(main, root / "db.sqlite"), (main.name, target.name), root / "db.sqlite", may_run=False)


@seed(14)
@FUZZ
@given(kind=st.sampled_from(KINDS), where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_bit_flips(base: Path, kind: str, where: float, bit: int) -> None:
    root = fresh(base)
    main, weights = _files(kind, root)
    target = weights if weights is not None and bit % 2 else main
    data = bytearray(target.read_bytes())
    data[int(where * len(data))] ^= 1 << bit
    target.write_bytes(bytes(data))
    sidecar_path(main).unlink()
    # a flipped weight bit leaves a valid model: measuring it is right; a flipped structure bit must be refused
    check(bench(main, root / "db.sqlite"), (main.name, target.name), root / "db.sqlite", may_run=True)


@pytest.mark.parametrize("kind", KINDS)
def test_empty_and_foreign_files(kind: str, tmp_path: Path) -> None:
    main, _ = _files(kind, tmp_path / "a")
    sidecar_path(main).unlink()
    main.write_bytes(b"")
    check(bench(main, tmp_path / "db.sqlite"), (main.name,), tmp_path / "db.sqlite", may_run=False)
    for other in KINDS:
        if other == kind:
            continue
        foreign, _ = _files(other, tmp_path / f"b-{other}")
        fake, _ = _files(kind, tmp_path / f"c-{other}")
        sidecar_path(fake).unlink()
        fake.write_bytes(foreign.read_bytes())  # another format's bytes behind this suffix
        check(bench(fake, tmp_path / "db.sqlite"), (fake.name,), tmp_path / "db.sqlite", may_run=False)


def test_openvino_weights_missing_or_the_wrong_size(tmp_path: Path) -> None:
    main, weights = _files("openvino", tmp_path / "missing")
    assert weights is not None
    weights.unlink()
    check(bench(main, tmp_path / "db.sqlite"), (weights.name,), tmp_path / "db.sqlite", may_run=False)
    original = (FIXTURES / TINY["openvino"][1]).stat().st_size
    for size in (0, 100, original - 1, original + 4096):
        main, weights = _files("openvino", tmp_path / f"size{size}")
        assert weights is not None
        data = weights.read_bytes()
        weights.write_bytes(data[:size] + bytes(max(0, size - len(data))))
        sidecar_path(main).unlink()
        check(bench(main, tmp_path / "db.sqlite"), (weights.name,), tmp_path / "db.sqlite", may_run=False)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sidecar", ["malformed", "not an object", "another artifact's"])
def test_bad_sidecars(kind: str, sidecar: str, tmp_path: Path) -> None:
    main, _ = _files(kind, tmp_path / "a")
    record = sidecar_path(main)
    if sidecar == "malformed":
        record.write_bytes(record.read_bytes()[: len(record.read_bytes()) // 2])
    elif sidecar == "not an object":
        record.write_text("[1, 2, 3]")
    else:
        other = copy_tiny(KINDS[(KINDS.index(kind) + 1) % len(KINDS)], tmp_path / "b")
        record.write_text(sidecar_path(other).read_text())
    check(bench(main, tmp_path / "db.sqlite"), (record.name,), tmp_path / "db.sqlite", may_run=False)
