"""Choose the most accurate measured artifact that meets a latency budget, and the Pareto front.

A candidate is an artifact with an accuracy evaluation and a latency measurement on the target device (the
newest evaluation; the median of its measurements per thread count). Ties on accuracy go to the smaller file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.results import ResultsStore
from edgeconv.results_schema import BenchFilter, BenchRow
from edgeconv.runtime.peak import efficiency

STATS = ("p50", "p90", "p99", "mean")


@dataclass(frozen=True)
class Candidate:
    """One artifact as measured on one device with one thread count."""

    artifact_sha256: str
    artifact_name: str
    artifact_path: str
    model: str | None
    width: float | None
    resolution: int | None
    format: str
    precision: str
    threads: int | None
    device_id: str
    latency_ms: dict[str, float]
    cv: float
    size_bytes: int
    top1: float
    bench_id: int  # the newest of its measurements
    evaluation_id: int
    measurements: int = 1  # latency_ms and cv are medians over this many
    gmacs: float | None = None  # achieved at the median p50
    fraction_of_peak: float | None = None  # of the device's GEMM peak for its precision (edgeconv info --peak)
    weights_from: str | None = None  # where training started: published, derived or from scratch (sweeps)
    profile: dict[str, Any] | None = None  # the op profile's digest (edgeconv.runtime.profile.digest), sweep --profile

    def stat(self, name: str) -> float:
        return self.latency_ms[name]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Selection:
    """The outcome of a selection: the winner (or None), why, and every candidate considered."""

    chosen: Candidate | None
    reason: str
    candidates: list[Candidate]
    fitting: list[Candidate]
    budget_ms: float
    stat: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.to_dict() if self.chosen else None,
            "reason": self.reason,
            "budget_ms": self.budget_ms,
            "stat": self.stat,
            "candidates": [c.to_dict() for c in self.candidates],
            "fitting": [c.artifact_sha256 for c in self.fitting],
        }


def make_candidate(rows: list[BenchRow], evaluation_id: int, top1: float, peak: dict[str, Any] | None) -> Candidate:
    """One artifact's candidate from its measurements on one device with one thread count (newest first):
    the median of each latency statistic, and the efficiency at the median p50 against the device's ``peak``."""
    newest = rows[0]
    latency = {s: float(np.median([r.stat(s) for r in rows])) for s in STATS}
    compute = efficiency(newest.macs, latency["p50"], newest.precision, newest.threads, peak) or {}
    return Candidate(
        artifact_sha256=newest.artifact_sha256,
        artifact_name=newest.artifact_name,
        artifact_path=newest.artifact_path or "",
        model=newest.model,
        width=newest.width,
        resolution=newest.resolution,
        format=newest.format,
        precision=newest.precision,
        threads=newest.threads,
        device_id=newest.device_id,
        latency_ms=latency,
        cv=float(np.median([r.cv or 0.0 for r in rows])),
        size_bytes=int(newest.size_bytes or 0),
        top1=top1,
        bench_id=newest.id,
        evaluation_id=evaluation_id,
        measurements=len(rows),
        gmacs=compute.get("gmacs"),
        fraction_of_peak=compute.get("fraction_of_peak"),
    )


def by_width(found: list[Candidate]) -> list[Candidate]:
    """Candidates in the order tables list them: by width, then resolution."""
    return sorted(found, key=lambda c: (c.width or 0, c.resolution or 0))


def candidates(store: ResultsStore, which: BenchFilter | None = None) -> list[Candidate]:
    """Stored artifacts with both an evaluation and a benchmark that ``which`` admits (default: every valid
    one): the newest evaluation and the median of the measurements per thread count and device, from one
    query with the filters in SQL."""
    measured: dict[tuple[str, int | None, str], tuple[list[BenchRow], int, float]] = {}
    for row, evaluation_id, top1 in store.evaluated_benches(which or BenchFilter()):
        key = (row.artifact_sha256, row.threads, row.device_id)
        measured.setdefault(key, ([], evaluation_id, top1))[0].append(row)
    peaks = {device: store.find_peak(device) for device in {key[2] for key in measured}}
    return by_width([make_candidate(rows, e, t, peaks[key[2]]) for key, (rows, e, t) in measured.items()])


def select(found: list[Candidate], budget_ms: float, stat: str = "p90") -> Selection:
    """The most accurate candidate whose ``stat`` meets ``budget_ms``; ties go to the smaller file."""
    if stat not in STATS:
        raise UsageError(f"--stat must be one of {', '.join(STATS)}, got {stat!r}")
    if not budget_ms > 0:
        raise UsageError(f"the budget must be a positive number of milliseconds, got {budget_ms}")
    if not found:
        return Selection(
            None,
            "no candidates: nothing has both an accuracy evaluation and a latency measurement "
            "on this target (run `edgeconv sweep`, or `edgeconv eval` and `edgeconv bench`)",
            [],
            [],
            budget_ms,
            stat,
        )
    fitting = [c for c in found if c.stat(stat) <= budget_ms]
    if not fitting:
        fastest = min(found, key=lambda c: c.stat(stat))
        return Selection(
            None,
            f"nothing fits {budget_ms:g} ms {stat}: the fastest candidate, {fastest.artifact_name}, "
            f"takes {fastest.stat(stat):.3f} ms (top-1 {fastest.top1:.2%})",
            found,
            [],
            budget_ms,
            stat,
        )
    chosen = min(fitting, key=lambda c: (-c.top1, c.size_bytes, c.stat(stat)))
    rivals = [c for c in fitting if c is not chosen]
    reason = (
        f"{chosen.artifact_name}: top-1 {chosen.top1:.2%} at {chosen.stat(stat):.3f} ms {stat} "
        f"(budget {budget_ms:g} ms); the most accurate of {len(fitting)} candidates within budget"
    )
    ties = [c for c in rivals if c.top1 == chosen.top1]
    if ties:
        reason += f"; tied on accuracy with {len(ties)}, chosen as the smallest file ({chosen.size_bytes / 1e6:.2f} MB)"
    over = [c for c in found if c.stat(stat) > budget_ms and c.top1 > chosen.top1]
    if over:
        best_over = max(over, key=lambda c: c.top1)
        reason += (
            f"; {best_over.artifact_name} is more accurate ({best_over.top1:.2%}) but takes "
            f"{best_over.stat(stat):.3f} ms"
        )
    return Selection(chosen, reason, found, fitting, budget_ms, stat)


def pareto_front(found: list[Candidate], stat: str = "p90") -> list[Candidate]:
    """Candidates no other candidate beats on both latency and accuracy, fastest first."""
    front: list[Candidate] = []
    for c in sorted(found, key=lambda c: (c.stat(stat), -c.top1)):
        if not front or c.top1 > front[-1].top1:
            front.append(c)
    return front
