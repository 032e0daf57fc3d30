"""Reliability, measured: fuzzed inputs, killed processes, concurrent writers and full disks, by the hundred.

1. Fuzzed inputs: the hypothesis properties of the suite (tests/cli/test_fuzz_cli.py, test_fuzz_data.py,
   tests/runtime/test_fuzz_artifacts.py) with many more examples; every case's outcome is logged and counted.
2. Killed processes: export, train, bench and sweep started with `edgeconv ...` and SIGKILLed at seeded random
   moments, in chains (killed, killed, ..., then run to the end in the same directory and database). After
   every kill: no partial file under a final name, the database passes `PRAGMA integrity_check`, every row
   stored before the kill is still there; after the chain's last run: nothing left over, no measurement stored
   twice, no artifact measured more often than the sweep asks (it reused what the killed runs stored).
3. Concurrency: 20 processes appending to one results database at once; two sweeps racing for one --out.
4. Full disks: exports and sweeps onto tmpfs mounts of seeded sizes (needs root): one line naming the path,
   nothing partial, the database intact.

Writes benchmarks/results/reliability.{json,md}.

    python benchmarks/reliability.py                # everything (about an hour on 2 cores)
    python benchmarks/reliability.py --quick        # a few of each (minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from faults import (  # noqa: E402
    leftovers,
    partial_files,
    read_database,
    run_edgeconv,
    run_killed,
)
from fuzzing import LOG_ENV  # noqa: E402
from reliability_io import BENCH, EXPORT, SWEEP, TRAIN, Row, concurrency, full_disks, log  # noqa: E402
from tiny_artifacts import copy_tiny  # noqa: E402

from edgeconv.sweep.search import CONFIRM_SAMPLES  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
HEADERS = [
    "fault class", "cases tried", "clean errors", "ran (still valid)", "tracebacks", "partial files",
    "rows lost", "rows duplicated", "other failures",
]  # fmt: skip

FUZZ = {  # fault class -> (pytest targets, examples per property)
    "fuzzed CLI arguments": (["tests/cli/test_fuzz_cli.py"], 150),
    "fuzzed artifact bytes": (["tests/runtime/test_fuzz_artifacts.py"], 120),
    "fuzzed datasets": (["tests/cli/test_fuzz_data.py::test_bad_datasets"], 200),
    "fuzzed checkpoints": (["tests/cli/test_fuzz_data.py::test_bad_checkpoints"], 150),
}
PARTS = ("fuzz", "kill", "concurrency", "disk")

KILLS = {"export": 50, "train": 50, "bench": 50, "sweep": 50}
CHAIN = {"export": 10, "train": 10, "bench": 10, "sweep": 0}  # kills per chain; sweep: until a run finishes


# -- 1. fuzzing -------------------------------------------------------------------------------------------------
def fuzz(work: Path, scale: float) -> list[Row]:
    rows = []
    for fault, (targets, examples) in FUZZ.items():
        count = max(2, round(examples * scale))
        outcomes = work / f"{fault.replace(' ', '_')}.jsonl"
        outcomes.unlink(missing_ok=True)
        env = {**os.environ, LOG_ENV: str(outcomes), "EDGECONV_FUZZ_EXAMPLES": str(count)}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        cases = [json.loads(line) for line in outcomes.read_text().splitlines()] if outcomes.exists() else []
        counts = Counter(case["outcome"] for case in cases)
        row = Row(fault, len(cases), counts["clean error"], counts["ran"], counts["traceback"])
        row.tracebacks += sum(n for name, n in counts.items() if name.startswith("signal"))
        row.partial = counts["partial files"]
        row.other = len(cases) - row.clean - row.ran - row.tracebacks - row.partial
        row.note(f"{count} examples per property, pytest exit {done.returncode}, {time.monotonic() - started:.0f} s")
        for name, n in counts.items():
            if name not in ("clean error", "ran"):
                example = next(c["line"] for c in cases if c["outcome"] == name)
                row.note(f"{n} x {name}: {example}", failure=True)
        if done.returncode != 0:
            row.note("pytest: " + " | ".join(done.stdout.strip().splitlines()[-3:]), failure=True)
        log(f"{fault}: {row.cells()[1:]}")
        rows.append(row)
    return rows


# -- 2. killed processes ----------------------------------------------------------------------------------------
def timed(args: list[str], env: dict[str, str]) -> float:
    """Seconds one uninterrupted run takes (the kill moments are drawn below it)."""
    started = time.monotonic()
    done = run_edgeconv(args, env)
    if done.returncode != 0:
        raise SystemExit(f"edgeconv {' '.join(args)} failed: {done.stderr[-800:]}")
    return time.monotonic() - started


def after_kill(row: Row, out: Path, db: Path, before: Any) -> Any:
    """Check the state a kill left; returns the database as it is now."""
    row.cases += 1
    partial = partial_files(out) if out.exists() else []
    row.partial += len(partial)
    for problem in partial:
        row.note(f"partial: {problem}", failure=True)
    now = read_database(db)
    if not now.intact:
        row.other += 1
        row.note(f"database not intact after a kill ({db})", failure=True)
    row.lost += now.lost(before)
    return now


def after_chain(row: Row, out: Path, db: Path, start: Any, finished: subprocess.CompletedProcess) -> None:
    """Check the state after the run that finished a chain of kills."""
    if finished.returncode != 0:
        row.other += 1
        row.tracebacks += "Traceback" in finished.stderr
        row.note(f"the run after the kills failed: {finished.stderr.strip().splitlines()[-1:]}", failure=True)
    left = leftovers(out)
    row.partial += len(left) + len(partial_files(out))
    for path in left:
        row.note(f"left over after the finishing run: {path}", failure=True)
    final = read_database(db)
    row.lost += final.lost(start)
    row.duplicated += final.duplicated


def kill_runs(work: Path, rng: random.Random, scale: float) -> Row:
    row = Row("killed processes (SIGKILL)")
    kinds: Counter[str] = Counter()
    reused: list[int] = []
    tiny = copy_tiny("onnx", work / "tiny")
    for command, total in KILLS.items():
        total = max(1, round(total * scale))
        base = {"export": EXPORT, "train": TRAIN, "bench": [*BENCH[:1], str(tiny), *BENCH[1:]], "sweep": SWEEP}[command]
        scratch = work / f"{command}-timing"
        duration = timed([*base, *_out(command, scratch)], {"EDGECONV_DB": str(scratch / "r.sqlite")})
        log(f"{command}: an uninterrupted run takes {duration:.1f} s; {total} kills")
        chain = 0
        while kinds[command] < total:
            chain += 1
            folder = work / f"{command}-{chain}"
            out, db = folder / "out", folder / "r.sqlite"
            env = {"EDGECONV_DB": str(db)}
            args = [*base, *_out(command, out)]
            start = read_database(db)
            before = start
            while kinds[command] < total and (command == "sweep" or CHAIN[command] > 0):
                low, high = (1.0, duration * 0.6) if command == "sweep" else (0.3, duration * 0.9)
                run = run_killed(args, rng.uniform(low, high), env)
                if not run.killed and command == "sweep":
                    break  # the sweep finished before its kill moment: the chain is done
                if not run.killed:  # faster than the timing run (the machine is shared): aim lower
                    duration = min(duration, run.seconds)
                    continue
                kinds[command] += 1
                before = after_kill(row, out, db, before)
                if command != "sweep" and kinds[command] % CHAIN[command] == 0:
                    break
            finished = run_edgeconv(args, env)
            after_chain(row, out, db, start, finished)
            if command == "sweep" and finished.returncode == 0:
                final = read_database(db)
                if final.most_per_artifact() > CONFIRM_SAMPLES:
                    row.duplicated += final.most_per_artifact() - CONFIRM_SAMPLES
                    row.note(
                        f"sweep chain {chain}: an artifact measured {final.most_per_artifact()} times", failure=True
                    )
                reused.append(json.loads((out / "sweep.json").read_text())["reused_measurements"])
            log(f"{command} chain {chain}: {kinds[command]}/{total} kills; table so far {row.cells()[1:]}")
    row.clean = 0
    row.note(", ".join(f"{n} during {c}" for c, n in kinds.items()))
    row.note(f"{len(reused)} sweep chains; the final run of each reused the stored measurements of {reused} artifacts")
    return row


def _out(command: str, out: Path) -> list[str]:
    """Where the command writes (bench writes only to the database, given by $EDGECONV_DB)."""
    return [] if command == "bench" else ["--out", str(out)]


def write(rows: list[Row], meta: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    table = [dict(zip(HEADERS, r.cells(), strict=True)) | {"notes": r.notes} for r in rows]
    (RESULTS / "reliability.json").write_text(json.dumps({**meta, "rows": table}, indent=2) + "\n")
    lines = [
        "# Reliability: fuzzed inputs, killed processes, concurrent writers, full disks",
        "",
        f"`python benchmarks/reliability.py` on {meta['cpu']} ({meta['cores']} cores), {meta['date']}, "
        f"{meta['minutes']:.0f} min. Seed {meta['seed']}."
        + "".join(
            f" Re-run of {', '.join(r['parts'])} on {r['date']} ({r['minutes']:.0f} min), its rows replaced."
            for r in meta.get("reruns", [])
        ),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in r.cells()) + " |" for r in rows]
    counted = ("cases", "clean", "ran", "tracebacks", "partial", "lost", "duplicated", "other")
    total = Row("total", *(sum(getattr(r, name) for r in rows) for name in counted))
    lines += ["| **" + "** | **".join(str(c) for c in total.cells()) + "** |", ""]
    lines += [
        "- *clean errors*: exit 1 or 2 and one line on stderr that names the input (fuzzing), the path (full disk),",
        "  the lock (races). *ran*: the input was still valid (a flipped weight bit) and the command did its job.",
        "  Killed processes print nothing, so that row counts kills; what matters there is the last four columns.",
        "- *partial files*: a file under a final name that is not whole (a model file without its companions or",
        "  sidecar or with other bytes than its sidecar records, an orphan companion or sidecar, a checkpoint torch",
        "  cannot read, a JSON file that does not parse), or a staging directory or temporary file still there",
        "  after the next run. Right after a kill a staging directory may remain; the next run finishes or removes it.",
        "- *rows lost*: database rows present before a kill and missing after it (or after the chain's last run).",
        "  *rows duplicated*: one measurement stored twice, or an artifact measured more often than the sweep asks.",
        "",
        "## Details",
        "",
    ]
    for row in rows:
        lines += [f"### {row.fault}", "", *(f"- {note}" for note in row.notes), ""]
    (RESULTS / "reliability.md").write_text("\n".join(lines))


def merged(rows: list[Row], meta: dict[str, Any], parts: list[str]) -> tuple[list[Row], dict[str, Any]]:
    """The committed table with ``rows`` (a re-run of ``parts``) in place of the rows of the same fault class."""
    committed = json.loads((RESULTS / "reliability.json").read_text())
    fresh = {row.fault: row for row in rows}
    table = []
    for old in committed["rows"]:
        if old["fault class"] in fresh:
            table.append(fresh.pop(old["fault class"]))
            continue
        row = Row(old["fault class"], *(old[h] for h in HEADERS[1:]))
        row.notes = old["notes"]
        table.append(row)
    reruns = [*committed.get("reruns", []), {"parts": parts, "date": meta["date"], "minutes": meta["minutes"]}]
    return table + list(fresh.values()), {**committed, "rows": [], "reruns": reruns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few cases of each (a smoke run)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help="comma list of parts to run; their rows replace the same rows of the committed results",
    )
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    scale = 0.05 if args.quick else 1.0
    rng = random.Random(args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="edgeconv-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    parts = set(args.only.split(","))
    started = time.monotonic()
    rows: list[Row] = []
    if "fuzz" in parts:
        rows += fuzz(work, scale)
    if "kill" in parts:
        rows.append(kill_runs(work, rng, scale))
    if "concurrency" in parts:
        rows += concurrency(work, 20, 1 if args.quick else 3)
    if "disk" in parts:
        rows.append(full_disks(work, random.Random(args.seed + 4), 1 if args.quick else 6, 1 if args.quick else 8))
    from edgeconv.runtime.device import device_info

    device = device_info()
    meta = {
        "cpu": f"{device.get('cpu_model') or device.get('machine')}, int8 path {device.get('int8_path')}",
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "minutes": (time.monotonic() - started) / 60,
        "seed": args.seed,
        "quick": args.quick,
    }
    if parts != set(PARTS):
        rows, meta = merged(rows, meta, sorted(parts))
    write(rows, meta)
    log(f"wrote {RESULTS / 'reliability.md'}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
