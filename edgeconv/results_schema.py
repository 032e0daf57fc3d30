"""The results database's tables, and the migration of files written by older edgeconv releases.

Schema 5 made the bench table's filters columns (``invalid``, ``macs``, ``cv``, ``size_bytes``,
``artifact_path``): ``select`` and the sweep's reuse filter in SQL instead of decoding every stored JSON
record. An older file gains the columns, filled from each row's own ``result_json``, so every row it holds
stays readable and selectable.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from typing import Any

from edgeconv.runtime.result import BenchResult

SCHEMA_VERSION = 5  # 1: bench; 2: + evaluations; 3: + sweeps; 4: + peaks; 5: bench filter columns

TABLES = """
CREATE TABLE IF NOT EXISTS bench (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    artifact_name TEXT NOT NULL,
    model TEXT,
    width REAL,
    resolution INTEGER,
    format TEXT NOT NULL,
    precision TEXT NOT NULL,
    backend TEXT NOT NULL,
    backend_version TEXT NOT NULL,
    threads INTEGER,
    device_id TEXT NOT NULL,
    hostname TEXT,
    p50_ms REAL NOT NULL,
    p90_ms REAL NOT NULL,
    p99_ms REAL NOT NULL,
    mean_ms REAL NOT NULL,
    runs INTEGER NOT NULL,
    noisy INTEGER NOT NULL,
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bench_artifact_device ON bench (artifact_sha256, device_id);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    target_sha256 TEXT NOT NULL,
    target_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    model TEXT,
    width REAL,
    resolution INTEGER,
    format TEXT NOT NULL,
    precision TEXT NOT NULL,
    dataset TEXT NOT NULL,
    num_images INTEGER NOT NULL,
    top1 REAL NOT NULL,
    top5 REAL NOT NULL,
    top1_agreement REAL,
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_target ON evaluations (target_sha256);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    model TEXT NOT NULL,
    budget_ms REAL NOT NULL,
    stat TEXT NOT NULL,
    device_id TEXT NOT NULL,
    chosen_sha256 TEXT,
    summary_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS peaks (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    device_id TEXT NOT NULL,
    runtime TEXT NOT NULL,
    peak_json TEXT NOT NULL
);
"""

# schema 5: column -> (declaration, its value in a row's result_json)
BENCH_COLUMNS = {
    "invalid": ("INTEGER NOT NULL DEFAULT 0", "json_extract(result_json, '$.invalid') IS NOT NULL"),
    "macs": ("REAL", "json_extract(result_json, '$.artifact.model.macs')"),
    "cv": ("REAL", "json_extract(result_json, '$.cv')"),
    "size_bytes": ("INTEGER", "json_extract(result_json, '$.artifact.size_bytes')"),
    "artifact_path": ("TEXT", "json_extract(result_json, '$.artifact.path')"),
}


def create_or_migrate(connection: sqlite3.Connection) -> None:
    """Create what a new file lacks, and bring an older file's tables to this schema. The migration holds the
    write lock from its first look at the columns to its commit, so that processes opening one old file at
    once migrate it once (the others wait on the busy timeout, then find nothing to do)."""
    connection.executescript(TABLES)
    connection.execute("BEGIN IMMEDIATE")
    try:
        present = {row[1] for row in connection.execute("PRAGMA table_info(bench)")}
        for name, (declaration, value) in BENCH_COLUMNS.items():
            if name not in present:
                connection.execute(f"ALTER TABLE bench ADD COLUMN {name} {declaration}")
                connection.execute(f"UPDATE bench SET {name} = {value}")
        connection.execute("CREATE INDEX IF NOT EXISTS bench_selection ON bench (device_id, invalid, model, format)")
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class BenchRow:
    """The indexed columns of one stored benchmark (the full record is in ``result``)."""

    id: int
    created_at: str
    artifact_name: str
    artifact_sha256: str
    model: str | None
    width: float | None
    resolution: int | None
    format: str
    precision: str
    backend: str
    threads: int | None
    device_id: str
    hostname: str | None
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    runs: int
    noisy: bool
    invalid: bool
    cv: float | None
    macs: float | None
    size_bytes: int | None
    artifact_path: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def stat(self, name: str) -> float:
        """A latency statistic by name: 'p50', 'p90', 'p99' or 'mean'."""
        return float(getattr(self, f"{name}_ms"))

    @classmethod
    def from_result(cls, row_id: int, result: BenchResult) -> BenchRow:
        """The columns of ``result`` as stored in row ``row_id``."""
        return cls(**{"id": row_id, **bench_columns(result), "noisy": result.noisy, "invalid": bool(result.invalid)})


BENCH_FIELDS = [f.name for f in fields(BenchRow)]


def bench_columns(result: BenchResult) -> dict[str, Any]:
    """The bench table's columns of one result (all but ``id`` and the JSON record), as SQL stores them."""
    model = result.artifact.get("model") or {}
    threads = result.backend.get("settings", {}).get("threads")
    return {
        "created_at": result.timestamp,
        "artifact_name": result.artifact["name"],
        "artifact_sha256": result.artifact["sha256"],
        "model": model.get("model"),
        "width": model.get("width"),
        "resolution": model.get("resolution"),
        "format": result.artifact["format"],
        "precision": result.artifact["precision"],
        "backend": result.backend["name"],
        "threads": threads if isinstance(threads, int) else None,
        "device_id": result.device["device_id"],
        "hostname": result.device.get("hostname"),
        "p50_ms": result.latency_ms.p50,
        "p90_ms": result.latency_ms.p90,
        "p99_ms": result.latency_ms.p99,
        "mean_ms": result.latency_ms.mean,
        "runs": result.runs,
        "noisy": int(result.noisy),
        "invalid": int(bool(result.invalid)),
        "cv": result.cv,
        "macs": model.get("macs"),
        "size_bytes": result.artifact.get("size_bytes"),
        "artifact_path": result.artifact.get("path"),
    }


def bench_row(record: tuple[Any, ...]) -> BenchRow:
    """A ``SELECT`` of :data:`BENCH_FIELDS` as a :class:`BenchRow`."""
    values = dict(zip(BENCH_FIELDS, record, strict=True))
    return BenchRow(**{**values, "noisy": bool(values["noisy"]), "invalid": bool(values["invalid"])})


@dataclass(frozen=True)
class BenchFilter:
    """Which stored benchmarks a selection reads: a device id prefix, family, format, precision and thread
    count (None: any), and only valid measurements unless ``include_invalid``."""

    device_id: str | None = None
    model: str | None = None
    format: str | None = None
    precision: str | None = None
    threads: int | None = None
    include_invalid: bool = False

    def where(self, table: str = "bench") -> tuple[str, list[Any]]:
        """The SQL condition on ``table``'s columns, and its parameters."""
        clauses, params = ["1"], []
        for column in ("model", "format", "precision", "threads"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{table}.{column} = ?")
                params.append(value)
        if self.device_id:
            clauses.append(f"substr({table}.device_id, 1, ?) = ?")
            params += [len(self.device_id), self.device_id]
        if not self.include_invalid:
            clauses.append(f"{table}.invalid = 0")
        return " AND ".join(clauses), params
