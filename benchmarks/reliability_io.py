"""Reliability, measured: parts 3 and 4 of ``benchmarks/reliability.py`` (concurrent writers and racing
sweeps; full disks), with the constants and the table row the parts share."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from faults import (  # noqa: E402
    concurrent_writers,
    leftovers,
    partial_files,
    read_database,
    run_edgeconv,
    small_disk,
)
from tiny_artifacts import copy_tiny  # noqa: E402

TINY_NET = ["--model", "mobilenetv2", "--width", "0.35", "--resolution", "32"]
EXPORT = ["export", *TINY_NET, "--format", "tflite,onnx,openvino", "--precision", "fp32,int8"]
TRAIN = ["train", *TINY_NET, "--epochs", "2"]
BENCH = ["bench", "--runs", "3000", "--min-seconds", "2", "-t", "1"]
SWEEP = [
    "sweep", "--model", "mobilenetv2", "--widths", "0.35,0.5,0.75", "--resolutions", "32", "--format", "onnx",
    "--precision", "int8", "--epochs", "1", "--runs", "20", "--min-seconds", "0.05", "--budget-ms", "100",
]  # fmt: skip


@dataclass
class Row:
    """One line of the table."""

    fault: str
    cases: int = 0
    clean: int = 0
    ran: int = 0
    tracebacks: int = 0
    partial: int = 0
    lost: int = 0
    duplicated: int = 0
    other: int = 0
    notes: list[str] = field(default_factory=list)

    def cells(self) -> list[Any]:
        return [self.fault, self.cases, self.clean, self.ran, self.tracebacks, self.partial, self.lost,
                self.duplicated, self.other]  # fmt: skip

    def note(self, text: str, failure: bool = False) -> None:
        """Keep ``text`` for the details (every failure; the first dozen of the rest)."""
        if failure or sum(not n.startswith("FAILURE") for n in self.notes) < 12:
            self.notes.append(f"FAILURE: {text}" if failure else text)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- 3. concurrency ---------------------------------------------------------------------------------------------
def concurrency(work: Path, writers: int, races: int) -> list[Row]:
    tiny = copy_tiny("onnx", work / "tiny-c")
    measured = run_edgeconv(["bench", str(tiny), "-t", "1", "--runs", "10", "--min-seconds", "0.05", "--no-store",
                             "--json"], {})  # fmt: skip
    record = work / "result.json"
    record.write_text(measured.stdout)
    written = concurrent_writers(record, work / "shared.sqlite", writers, 10)
    row = Row(f"{writers} concurrent writers x 10 rows", len(written.expected), 0, len(written.stamps))
    row.other = len(written.failures) + (not written.intact)
    row.lost, row.duplicated = written.lost, written.duplicated
    row.tracebacks = sum("Traceback" in failure for failure in written.failures)
    row.note(f"integrity {'ok' if written.intact else 'FAILED'}, journal mode {'wal' if written.wal else 'not wal'}")
    log(f"writers: {row.cells()[1:]}")

    race = Row("two sweeps into one --out")
    for index in range(races):
        out, db = work / f"race-{index}" / "out", work / f"race-{index}" / "r.sqlite"
        args = [*SWEEP, "--out", str(out), "--db", str(db)]
        first = subprocess.Popen([*_edgeconv(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while not (out / ".sweep.lock").exists() and first.poll() is None:
            time.sleep(0.05)
        time.sleep(2)
        second = run_edgeconv(args, {})
        _, first_err = first.communicate(timeout=1800)
        race.cases += 2
        lines = second.stderr.strip().splitlines()
        refused = second.returncode == 1 and len(lines) == 1 and "another sweep is writing" in lines[0]
        race.clean += refused
        race.ran += first.returncode == 0
        race.other += (not refused) + (first.returncode != 0)
        race.tracebacks += ("Traceback" in second.stderr) + ("Traceback" in first_err)
        race.partial += len(partial_files(out)) + len(leftovers(out))
        stored = read_database(db)
        race.duplicated += stored.duplicated
        race.note(f"race {index}: second sweep: {lines[-1] if lines else '(no output)'}")
    log(f"races: {race.cells()[1:]}")
    return [row, race]


def _edgeconv() -> list[str]:
    from edgeconv.targets.base import edgeconv_process

    return edgeconv_process()


# -- 4. full disks ----------------------------------------------------------------------------------------------
def full_disks(work: Path, rng: random.Random, exports: int, sweeps: int) -> Row:
    row = Row("full disk (tmpfs)")
    plans = [("export", fmt) for fmt in ("tflite", "onnx", "openvino") for _ in range(exports)]
    plans += [("sweep", "db on the disk" if i % 2 else "db elsewhere") for i in range(sweeps)]
    for kind, detail in plans:
        low, high = (32, 3072) if kind == "export" else (256, 8192)
        size_kib = round(math.exp(rng.uniform(math.log(low), math.log(high))))
        try:
            with small_disk(size_kib) as disk:
                out = disk / "out"
                db = disk / "r.sqlite" if detail == "db on the disk" else work / f"disk-{row.cases}.sqlite"
                if kind == "export":
                    args = ["export", *TINY_NET, "--format", detail, "--precision", "fp32,int8", "--out", str(out)]
                else:
                    args = [*SWEEP, "--out", str(out)]
                done = run_edgeconv(args, {"EDGECONV_DB": str(db)})
                _judge_disk(row, done, disk, out, db, f"{kind} {detail} on {size_kib} KiB")
        except OSError as exc:
            row.note(f"skipped: {exc}")
            return row
    log(f"full disks: {row.cells()[1:]}")
    return row


def _judge_disk(row: Row, done: subprocess.CompletedProcess, disk: Path, out: Path, db: Path, what: str) -> None:
    row.cases += 1
    lines = done.stderr.strip().splitlines()
    if "Traceback" in done.stderr:
        row.tracebacks += 1
        row.note(f"{what}: traceback ending {' / '.join(lines[-3:])}", failure=True)
    elif done.returncode == 0:
        row.ran += 1
    elif done.returncode == 1 and lines and lines[-1].startswith("Error: ") and str(disk) in lines[-1]:
        row.clean += 1
        row.note(f"{what}: {lines[-1]}")
    else:
        row.other += 1
        row.note(f"{what}: exit {done.returncode}: {lines[-1:]}", failure=True)
    if out.exists():
        problems = partial_files(out) + [str(p) for p in leftovers(out)]
        row.partial += len(problems)
        for problem in problems:
            row.note(f"{what}: partial {problem}", failure=True)
    stored = read_database(db)
    row.other += not stored.intact
    row.duplicated += stored.duplicated


# -- report -----------------------------------------------------------------------------------------------------
