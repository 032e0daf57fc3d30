"""Many processes appending to one results database at once: WAL mode and a busy timeout, so that no row is
lost or stored twice and no "database is locked" reaches the user."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from faults import concurrent_writers

WRITERS = 20
ROWS_EACH = 10


def test_concurrent_writers_lose_and_duplicate_nothing(cli, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    measured = cli("bench", tiny("onnx"), "-t", "1", "--runs", "10", "--min-seconds", "0.05", "--no-store", "--json")
    assert measured.code == 0, measured.stderr
    record = tmp_path / "result.json"
    record.write_text(measured.stdout)
    db = tmp_path / "shared.sqlite"
    written = concurrent_writers(record, db, WRITERS, ROWS_EACH)
    assert written.failures == []  # no "database is locked" reached a writer
    assert written.intact and written.wal
    assert len(written.stamps) == WRITERS * ROWS_EACH and set(written.stamps) == written.expected
    assert written.lost == 0 and written.duplicated == 0
    stored = json.loads(sqlite3.connect(db).execute("SELECT result_json FROM bench LIMIT 1").fetchone()[0])
    assert stored["artifact"]["sha256"] == json.loads(measured.stdout)["artifact"]["sha256"]
