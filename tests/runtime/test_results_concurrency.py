"""Many processes appending to one results database at once: WAL mode and a busy timeout, so that no row is
lost or stored twice and no "database is locked" reaches the user."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

WRITERS = 20
ROWS_EACH = 10

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


def test_concurrent_writers_lose_and_duplicate_nothing(cli, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    measured = cli("bench", tiny("onnx"), "-t", "1", "--runs", "10", "--min-seconds", "0.05", "--no-store", "--json")
    assert measured.code == 0, measured.stderr
    record = tmp_path / "result.json"
    record.write_text(measured.stdout)
    db = tmp_path / "shared.sqlite"
    start = time.time() + 3.0  # every writer imports first, then all write at once
    writers = [
        subprocess.Popen(
            [sys.executable, "-P", "-c", WRITER, str(record), str(db), f"w{i}", str(ROWS_EACH), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    outcomes = [(w.wait(timeout=300), w.stderr.read() if w.stderr else "") for w in writers]
    assert all(code == 0 and not stderr for code, stderr in outcomes), outcomes
    with sqlite3.connect(db) as connection:
        stamps = [row[0] for row in connection.execute("SELECT created_at FROM bench")]
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    expected = {f"w{i}-{j}" for i in range(WRITERS) for j in range(ROWS_EACH)}
    assert len(stamps) == len(expected) and set(stamps) == expected  # none lost, none twice
    stored = json.loads(sqlite3.connect(db).execute("SELECT result_json FROM bench LIMIT 1").fetchone()[0])
    assert stored["artifact"]["sha256"] == json.loads(measured.stdout)["artifact"]["sha256"]
