"""A results database written by the schema before the filter columns (4) is migrated on open: every row
stays readable, the new columns are filled from each row's own record, and selection filters in SQL."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

from edgeconv.results import open_store
from edgeconv.results_schema import BENCH_COLUMNS, SCHEMA_VERSION, TABLES, BenchFilter
from edgeconv.runtime import BenchSettings, bench
from edgeconv.select import candidates

V4_BENCH_COLUMNS = (
    "created_at, artifact_sha256, artifact_name, model, width, resolution, format, precision, backend,"
    " backend_version, threads, device_id, hostname, p50_ms, p90_ms, p99_ms, mean_ms, runs, noisy, result_json"
)


def write_v4_database(path: Path, records: list[dict]) -> None:  # type: ignore[type-arg]
    """The file edgeconv wrote before schema 5: the same tables without the bench filter columns."""
    connection = sqlite3.connect(path)
    connection.executescript(TABLES)  # schema 5 only added columns to these tables
    for record in records:
        model = record["artifact"]["model"] or {}
        values = (
            record["timestamp"], record["artifact"]["sha256"], record["artifact"]["name"], model.get("model"),
            model.get("width"), model.get("resolution"), record["artifact"]["format"], record["artifact"]["precision"],
            record["backend"]["name"], record["backend"]["version"], 1, record["device"]["device_id"], "host",
            record["latency_ms"]["p50"], record["latency_ms"]["p90"], record["latency_ms"]["p99"],
            record["latency_ms"]["mean"], record["runs"], 0, json.dumps(record),
        )  # fmt: skip
        connection.execute(f"INSERT INTO bench ({V4_BENCH_COLUMNS}) VALUES ({','.join('?' * 20)})", values)
    connection.execute(
        "INSERT INTO evaluations (created_at, target_sha256, target_name, kind, format, precision, dataset,"
        " num_images, top1, top5, result_json) VALUES ('t', ?, 'x', 'artifact', 'onnx', 'fp32', 'digits', 10, 0.7,"
        " 1.0, ?)",
        (records[0]["artifact"]["sha256"], json.dumps({"sha256": records[0]["artifact"]["sha256"], "top1": 0.7})),
    )
    connection.execute("PRAGMA user_version = 4")
    connection.commit()
    connection.close()


def test_a_schema_4_database_is_migrated_and_every_row_kept(tiny_onnx: Path, tmp_path: Path) -> None:
    real = bench(tiny_onnx, threads=1, settings=BenchSettings(warmup_runs=1, warmup_seconds=0, runs=5, min_seconds=0))
    valid, hot = real.to_dict(), replace(real, invalid="throttled during the run").to_dict()
    db = tmp_path / "old.sqlite"
    write_v4_database(db, [valid, hot])
    assert {row[1] for row in sqlite3.connect(db).execute("PRAGMA table_info(bench)")}.isdisjoint(BENCH_COLUMNS)

    with open_store(db) as store:
        rows = store.bench_rows()
        assert [row.invalid for row in rows] == [True, False]  # newest first, filled from each record
        assert all(row.macs == valid["artifact"]["model"]["macs"] for row in rows)
        assert all(row.artifact_path == valid["artifact"]["path"] and row.size_bytes for row in rows)
        assert [
            result.to_dict() for _, result in store.find_benches(real.artifact["sha256"], real.device["device_id"], 1)
        ] == [valid]
        (found,) = candidates(store, BenchFilter(device_id=real.device["device_id"][:4]))
        assert found.measurements == 1 and found.top1 == 0.7 and found.latency_ms["p90"] == real.latency_ms.p90
        assert candidates(store, BenchFilter(include_invalid=True))[0].measurements == 2
        assert store.bench_result(rows[0].id).invalid == "throttled during the run"  # the full records unchanged
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert connection.execute("SELECT COUNT(*) FROM bench").fetchone() == (2,)
    with open_store(db) as store:  # opening again changes nothing
        assert len(store.bench_rows()) == 2


def test_a_new_database_has_the_filter_columns(tmp_path: Path) -> None:
    with open_store(tmp_path / "new.sqlite"):
        pass
    columns = {row[1] for row in sqlite3.connect(tmp_path / "new.sqlite").execute("PRAGMA table_info(bench)")}
    assert set(BENCH_COLUMNS) <= columns
