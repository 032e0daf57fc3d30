"""Faults for the reliability tests and ``benchmarks/reliability.py``: edgeconv processes killed (SIGKILL) at
seeded moments, a full disk (a small tmpfs), and the checks that follow each one: no partial file under a final
name, the results database intact, no measurement lost or stored twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from edgeconv.errors import ArtifactError
from edgeconv.runtime.artifact_info import SIDECAR_SUFFIX, read_sidecar
from edgeconv.runtime.formats import all_formats
from edgeconv.staging import STAGING_PREFIX
from edgeconv.targets.base import edgeconv_process

MODEL_SUFFIXES = {spec.suffix: spec for spec in all_formats()}
COMPANIONS = {companion: spec.suffix for spec in all_formats() for companion in spec.companions}


@dataclass(frozen=True)
class Run:
    """One edgeconv process: killed after ``delay_s`` unless it ended first (``returncode`` then)."""

    delay_s: float
    seconds: float  # how long it ran
    killed: bool
    returncode: int | None
    stderr: str


def run_killed(args: Sequence[str], delay_s: float, env: dict[str, str], timeout_s: float = 900) -> Run:
    """Start ``edgeconv ARGS``, SIGKILL it after ``delay_s`` seconds (no cleanup of any kind runs), reap it."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [*edgeconv_process(), *args], stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, **env}
        )
        try:
            process.wait(timeout=delay_s)
            killed = False
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=timeout_s)
            killed = True
        stderr.seek(0)
        output = stderr.read().decode(errors="replace")
    return Run(delay_s, time.monotonic() - started, killed, None if killed else process.returncode, output)


def run_edgeconv(args: Sequence[str], env: dict[str, str], timeout_s: float = 900) -> subprocess.CompletedProcess:
    """``edgeconv ARGS`` to the end (stdout and stderr captured as text)."""
    return subprocess.run(
        [*edgeconv_process(), *args], capture_output=True, text=True, timeout=timeout_s, env={**os.environ, **env}
    )


def partial_files(root: Path) -> list[str]:
    """Files under ``root`` with a final name that are not whole: a model file without its companions or
    sidecar or with a sidecar of other bytes, a sidecar or companion without its model file, a checkpoint torch
    cannot read, a JSON file that does not parse. Staging directories and temporaries are not final names
    (:func:`leftovers`)."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _temporary(p, root)):
        problem = _problem(path)
        if problem:
            found.append(f"{path.relative_to(root)}: {problem}")
    return found


def leftovers(root: Path) -> list[Path]:
    """Staging directories and temporary files a killed process left (the next run into ``root`` removes them)."""
    return sorted(p for p in root.rglob("*") if p.name.startswith(STAGING_PREFIX) or p.name.endswith(".tmp"))


def _temporary(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return any(part.startswith(STAGING_PREFIX) for part in parts) or path.name.endswith(".tmp")


def _problem(path: Path) -> str | None:
    name = path.name
    if path.suffix in MODEL_SUFFIXES:
        spec = MODEL_SUFFIXES[path.suffix]
        missing = [f.name for f in spec.files(path) if not f.is_file()]
        if missing:
            return f"model file without {', '.join(missing)}"
        try:
            if read_sidecar(path) is None:
                return "model file without its sidecar"
        except ArtifactError as exc:
            return str(exc)
        return None
    if name.endswith(SIDECAR_SUFFIX) and Path(name[: -len(SIDECAR_SUFFIX)]).suffix in MODEL_SUFFIXES:
        return None if path.with_name(name[: -len(SIDECAR_SUFFIX)]).is_file() else "sidecar without its model file"
    if path.suffix in COMPANIONS:
        return None if path.with_suffix(COMPANIONS[path.suffix]).is_file() else "companion without its model file"
    if path.suffix == ".pt":
        from edgeconv.checkpoint import read_checkpoint

        try:
            read_checkpoint(path)
        except ArtifactError as exc:
            return str(exc)
        return None
    if path.suffix == ".json":
        try:
            json.loads(path.read_text())
        except ValueError as exc:
            return f"not JSON: {exc}"
    return None


@dataclass(frozen=True)
class Database:
    """What a results database holds after a fault: whether SQLite calls it intact, and its measurements."""

    intact: bool
    benches: dict[int, str]  # row id -> the stored result (JSON), which is unique to one measurement
    artifacts: dict[int, str]  # row id -> the measured artifact's sha256

    @property
    def duplicated(self) -> int:
        """Measurements stored more than once (the same result under two row ids)."""
        return len(self.benches) - len(set(self.benches.values()))

    def most_per_artifact(self) -> int:
        """The largest number of measurements stored for one artifact."""
        counts = Counter(self.artifacts.values())
        return max(counts.values(), default=0)

    def lost(self, earlier: Database) -> int:
        """Rows of ``earlier`` (the same file before a fault) that are gone or changed."""
        return sum(self.benches.get(row) != result for row, result in earlier.benches.items())


def read_database(path: Path) -> Database:
    """Open ``path`` as SQLite does after a crash (replaying its write-ahead log) and read it."""
    if not path.exists():
        return Database(True, {}, {})
    with contextlib.closing(sqlite3.connect(path, timeout=60)) as connection:
        intact = connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "bench" not in tables:  # a file its creator has not yet given tables (or killed before it could)
            return Database(intact, {}, {})
        rows = connection.execute("SELECT id, artifact_sha256, result_json FROM bench").fetchall()
    return Database(intact, {row: result for row, _, result in rows}, {row: sha for row, sha, _ in rows})


WRITER = """
import json, sys, time
from edgeconv.results import open_store
from edgeconv.runtime.result import BenchResult

record, db, name = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
rows, start = int(sys.argv[4]), float(sys.argv[5])
while time.time() < start:
    time.sleep(0.001)
for index in range(rows):
    with open_store(db) as store:  # a fresh connection per row: the most contention on open and on write
        store.add_bench(BenchResult.from_dict({**record, "timestamp": f"{name}-{index}"}))
"""


@dataclass(frozen=True)
class Writers:
    """What ``writers`` processes appending ``rows_each`` rows to one database at once left in it."""

    failures: list[str]  # stderr of writers that exited non-zero
    expected: set[str]  # the stamp of every row written
    stamps: list[str]  # the stamps stored
    intact: bool
    wal: bool

    @property
    def lost(self) -> int:
        return len(self.expected - set(self.stamps))

    @property
    def duplicated(self) -> int:
        return len(self.stamps) - len(set(self.stamps))


def concurrent_writers(record: Path, db: Path, writers: int, rows_each: int) -> Writers:
    """Start ``writers`` processes that each append the bench result in ``record`` ``rows_each`` times (stamped
    ``w<i>-<j>``), all starting at the same moment, each row through a new connection."""
    start = time.time() + 3.0  # every writer imports first, then all write at once
    processes = [
        subprocess.Popen(
            [sys.executable, "-P", "-c", WRITER, str(record), str(db), f"w{i}", str(rows_each), str(start)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(writers)
    ]
    failures = [
        err
        for code, err in ((p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in processes)
        if code or err
    ]
    with contextlib.closing(sqlite3.connect(db)) as connection:
        stamps = [row[0] for row in connection.execute("SELECT created_at FROM bench")]
        intact = connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        wal = connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    expected = {f"w{i}-{j}" for i in range(writers) for j in range(rows_each)}
    return Writers(failures, expected, stamps, intact, wal)


@contextlib.contextmanager
def small_disk(size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted on a new directory (needs root; raises OSError otherwise)."""
    mount_point = Path(tempfile.mkdtemp(prefix="edgeconv-full-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        mount_point.rmdir()
        raise OSError(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        for attempt in range(50):
            if subprocess.run(["umount", str(mount_point)], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.1 * attempt)
        with contextlib.suppress(OSError):
            mount_point.rmdir()
