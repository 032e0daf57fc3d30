"""The results store: every benchmark appended to one SQLite file, keyed by artifact hash and device.

The file is chosen by ``--db PATH``, else ``$EDGECONV_DB``, else ``results.sqlite`` in the user's data
directory (platform convention). Rows are only ever inserted, never updated. Device-side safe (stdlib and numpy only).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeconv.errors import EdgeconvError
from edgeconv.results_schema import (
    BENCH_FIELDS,
    SCHEMA_VERSION,
    BenchFilter,
    BenchRow,
    bench_columns,
    bench_row,
    create_or_migrate,
)
from edgeconv.runtime.peak import result_efficiency
from edgeconv.runtime.profile.roofline import with_roofline
from edgeconv.runtime.result import BenchResult

if TYPE_CHECKING:
    from edgeconv.evaluate import EvalResult

DB_ENV = "EDGECONV_DB"
BUSY_TIMEOUT_S = 60.0  # a writer waits this long for another process's write to finish


def default_db_path() -> Path:
    """``$EDGECONV_DB`` if set, else ``results.sqlite`` in the platform's user data directory."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("edgeconv", appauthor=False)) / "results.sqlite"


class ResultsStore:
    """An append-only SQLite file of measurements. Open with :func:`open_store`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    def add_bench(self, result: BenchResult) -> tuple[int, BenchResult]:
        """Append one benchmark; returns its row id and the record as stored: ``result`` with its achieved
        GMAC/s and fraction of the device's GEMM peak when a peak is stored (``result`` itself is not changed)."""
        peak = self.find_peak(result.device["device_id"])
        if peak is not None or result.efficiency is None:
            result = replace(result, efficiency=result_efficiency(result, peak))
        if result.profile is not None and peak is not None:
            result = replace(result, profile=with_roofline(result, peak))
        columns = {**bench_columns(result), "backend_version": result.backend["version"], "result_json": ""}
        columns["result_json"] = json.dumps(result.to_dict())
        with self._db:
            cursor = self._db.execute(
                f"INSERT INTO bench ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                list(columns.values()),
            )
        return int(cursor.lastrowid or 0), result

    def add_evaluation(self, result: EvalResult) -> int:
        """Append one evaluation; returns its row id."""
        model = result.model
        dataset = result.dataset.get("path") or result.dataset.get("kind", "?")
        agreement = (result.agreement or {}).get("top1_agreement")
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO evaluations (created_at, target_sha256, target_name, kind, model, width, resolution,"
                " format, precision, dataset, num_images, top1, top5, top1_agreement, result_json)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    result.timestamp,
                    result.sha256,
                    Path(result.target).name,
                    result.kind,
                    model.get("model"),
                    model.get("width"),
                    model.get("resolution"),
                    result.format,
                    result.precision,
                    dataset,
                    result.num_images,
                    result.top1,
                    result.top5,
                    agreement,
                    json.dumps(result.to_dict()),
                ),
            )
        return int(cursor.lastrowid or 0)

    def evaluations(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored evaluations (full records with their row id), newest first."""
        query = "SELECT id, result_json FROM evaluations ORDER BY id DESC" + (" LIMIT ?" if limit else "")
        rows = self._db.execute(query, (limit,) if limit else ()).fetchall()
        return [{"id": row_id, **json.loads(text)} for row_id, text in rows]

    def find_benches(self, sha256: str, device_id: str, threads: int) -> list[tuple[int, BenchResult]]:
        """(row id, result) of every valid stored benchmark of an artifact on a device with a thread count,
        newest first (a result taken while the device was throttled is not reused)."""
        rows = self._db.execute(
            "SELECT id, result_json FROM bench WHERE artifact_sha256 = ? AND device_id = ? AND threads = ?"
            " AND invalid = 0 ORDER BY id DESC",
            (sha256, device_id, threads),
        ).fetchall()
        return [(row_id, BenchResult.from_dict(json.loads(text))) for row_id, text in rows]

    def evaluated_benches(self, which: BenchFilter) -> list[tuple[BenchRow, int, float]]:
        """(bench row, evaluation id, top-1) of every stored benchmark ``which`` admits whose artifact has an
        evaluation (its newest), newest first, in one query."""
        where, params = which.where("b")
        query = (
            f"SELECT {', '.join('b.' + name for name in BENCH_FIELDS)}, e.id, e.top1 FROM bench b"
            " JOIN evaluations e ON e.id = (SELECT MAX(id) FROM evaluations"
            " WHERE target_sha256 = b.artifact_sha256 AND kind = 'artifact')"
            f" WHERE {where} ORDER BY b.id DESC"
        )
        rows = self._db.execute(query, params).fetchall()
        return [(bench_row(row[:-2]), int(row[-2]), float(row[-1])) for row in rows]

    def find_evaluation(self, sha256: str) -> dict[str, Any] | None:
        """The newest stored evaluation of a checkpoint or artifact, if any."""
        row = self._db.execute(
            "SELECT id, result_json FROM evaluations WHERE target_sha256 = ? ORDER BY id DESC LIMIT 1", (sha256,)
        ).fetchone()
        return {"id": row[0], **json.loads(row[1])} if row else None

    def add_sweep(self, summary: dict[str, Any]) -> int:
        """Record a finished sweep (its summary, as written to ``OUT/sweep.json``)."""
        chosen = (summary.get("selection") or {}).get("chosen") or {}
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO sweeps (created_at, out_dir, model, budget_ms, stat, device_id, chosen_sha256,"
                " summary_json) VALUES (?,?,?,?,?,?,?,?)",
                (
                    summary["finished_at"],
                    summary["out_dir"],
                    summary["config"]["model"],
                    summary["config"]["budget_ms"],
                    summary["config"]["stat"],
                    summary["device_id"],
                    chosen.get("artifact_sha256"),
                    json.dumps(summary),
                ),
            )
        return int(cursor.lastrowid or 0)

    def add_peak(self, peak: dict[str, Any]) -> int:
        """Record a GEMM peak measurement (:func:`edgeconv.runtime.peak.measure_peak`) of a device."""
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO peaks (created_at, device_id, runtime, peak_json) VALUES (?,?,?,?)",
                (peak["measured_at"], peak["device"]["device_id"], peak["runtime"], json.dumps(peak)),
            )
        return int(cursor.lastrowid or 0)

    def find_peak(self, device_id: str) -> dict[str, Any] | None:
        """The newest stored GEMM peak of a device, if any."""
        row = self._db.execute(
            "SELECT peak_json FROM peaks WHERE device_id = ? ORDER BY id DESC LIMIT 1", (device_id,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def precision_latencies(
        self, device_id: str, model: str, width: float, resolution: int, fmt: str
    ) -> dict[tuple[str, int], float]:
        """(precision, threads) -> median p50 of the valid stored measurements of one model configuration in
        one format on a device."""
        rows = self._db.execute(
            "SELECT precision, threads, p50_ms FROM bench WHERE device_id = ? AND model = ?"
            " AND abs(width - ?) < 1e-9 AND resolution = ? AND format = ? AND threads IS NOT NULL AND invalid = 0",
            (device_id, model, width, resolution, fmt),
        ).fetchall()
        found: dict[tuple[str, int], list[float]] = {}
        for precision, threads, p50 in rows:
            found.setdefault((precision, threads), []).append(p50)
        return {key: float(np.median(values)) for key, values in found.items()}

    def knows_device(self, prefix: str) -> bool:
        """Whether a stored benchmark was measured on a device whose id starts with ``prefix``."""
        query = "SELECT 1 FROM bench WHERE substr(device_id, 1, ?) = ? LIMIT 1"
        return self._db.execute(query, (len(prefix), prefix)).fetchone() is not None

    def latest_sweep(self) -> dict[str, Any] | None:
        """The summary of the most recently finished sweep."""
        row = self._db.execute("SELECT summary_json FROM sweeps ORDER BY id DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

    def bench_rows(self, limit: int | None = None, model: str | None = None) -> list[BenchRow]:
        """Stored benchmarks, newest first, optionally only those of one model family."""
        query = f"SELECT {', '.join(BENCH_FIELDS)} FROM bench"
        params: list[Any] = []
        if model:
            query += " WHERE model = ?"
            params.append(model)
        query += " ORDER BY id DESC"
        if limit:
            query += " LIMIT ?"
            params.append(limit)
        return [bench_row(row) for row in self._db.execute(query, params).fetchall()]

    def bench_result(self, row_id: int) -> BenchResult:
        """The full stored record of one benchmark."""
        row = self._db.execute("SELECT result_json FROM bench WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            raise EdgeconvError(f"no benchmark with id {row_id} in {self.path}")
        return BenchResult.from_dict(json.loads(row[0]))


def _prepare(connection: sqlite3.Connection, db_path: Path) -> None:
    """Check the schema version; on a new or older file create what is missing, in WAL mode. Processes that
    open a new file at the same moment race for the journal-mode switch, which SQLite refuses at once
    ("database is locked") rather than waiting: retried until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise EdgeconvError(f"{db_path} was written by a newer edgeconv (schema {version}); upgrade edgeconv")
            if version < SCHEMA_VERSION:  # new or older: create what is missing, once (no write on every open)
                # write-ahead log: readers never block the writer, and writers queue on the busy timeout
                connection.execute("PRAGMA journal_mode=WAL")
                create_or_migrate(connection)
            return
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise EdgeconvError(f"cannot open results database {db_path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise EdgeconvError(f"{db_path} is not an edgeconv results database: {exc}") from None


@contextmanager
def open_store(path: str | Path | None = None, create: bool = True) -> Iterator[ResultsStore]:
    """Open the results database at ``path`` (default: :func:`default_db_path`), creating it if needed
    unless ``create`` is false (readers such as ``select`` and ``report`` should not leave an empty file)."""
    db_path = Path(path).expanduser() if path else default_db_path()
    if not create and not db_path.is_file():
        raise EdgeconvError(f"no results database at {db_path}: nothing measured yet (run `edgeconv sweep`)")
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S)
    except (OSError, sqlite3.Error) as exc:
        raise EdgeconvError(f"cannot open results database {db_path}: {exc}") from None
    with closing(connection):
        _prepare(connection, db_path)
        try:
            yield ResultsStore(connection, db_path)
        except sqlite3.Error as exc:  # a full disk, a file gone read-only: one line, the rows before it kept
            raise EdgeconvError(f"results database {db_path}: {exc}") from None
