"""Selection: the most accurate candidate within budget, ties to the smaller file, no-fit and missing data."""

from __future__ import annotations

import json
from dataclasses import astuple, replace
from pathlib import Path

import pytest

from edgeconv.errors import UsageError
from edgeconv.evaluate import EvalResult
from edgeconv.results import open_store
from edgeconv.results_schema import BenchFilter
from edgeconv.runtime import BenchSettings, bench
from edgeconv.runtime.result import BenchResult, LatencyStats, median_latency
from edgeconv.select import Candidate, candidates, pareto_front, select


def candidate(name: str, top1: float, p90: float, size: int) -> Candidate:
    return Candidate(
        name,
        name,
        f"/x/{name}",
        "mobilenetv2",
        1.0,
        224,
        "tflite",
        "int8",
        1,
        "dev",
        {"p50": p90 * 0.9, "p90": p90, "p99": p90 * 1.2, "mean": p90 * 0.92},
        0.05,
        size,
        top1,
        1,
        1,
    )


def test_most_accurate_within_budget_wins() -> None:
    found = [candidate("a", 0.90, 5.0, 100), candidate("b", 0.95, 9.0, 200), candidate("c", 0.97, 12.0, 300)]
    selection = select(found, 10.0)
    assert selection.chosen is not None and selection.chosen.artifact_name == "b"
    assert "c is more accurate (97.00%) but takes 12.000 ms" in selection.reason
    assert [c.artifact_name for c in selection.fitting] == ["a", "b"]
    assert select(found, 10.0, "p50").chosen.artifact_name == "b"  # type: ignore[union-attr]


def test_ties_go_to_the_smaller_file() -> None:
    found = [candidate("big", 0.95, 5.0, 300), candidate("small", 0.95, 8.0, 100)]
    selection = select(found, 10.0)
    assert selection.chosen is not None and selection.chosen.artifact_name == "small"
    assert "chosen as the smallest file" in selection.reason


def test_nothing_fits_names_the_fastest() -> None:
    found = [candidate("a", 0.90, 5.0, 100), candidate("b", 0.95, 9.0, 200)]
    selection = select(found, 1.0)
    assert selection.chosen is None
    assert selection.reason == "nothing fits 1 ms p90: the fastest candidate, a, takes 5.000 ms (top-1 90.00%)"


def test_no_candidates_and_bad_arguments() -> None:
    assert select([], 5.0).chosen is None and "no candidates" in select([], 5.0).reason
    with pytest.raises(UsageError, match="--stat must be one of"):
        select([], 5.0, "p75")
    with pytest.raises(UsageError, match="positive number"):
        select([], 0.0)


def test_pareto_front() -> None:
    found = [
        candidate("a", 0.90, 5.0, 1),
        candidate("b", 0.89, 6.0, 1),
        candidate("c", 0.95, 9.0, 1),
        candidate("d", 0.94, 10.0, 1),
    ]
    assert [c.artifact_name for c in pareto_front(found)] == ["a", "c"]


def evaluation_of(bench_artifact: dict, top1: float) -> EvalResult:  # type: ignore[type-arg]
    return EvalResult(
        bench_artifact["path"],
        "artifact",
        bench_artifact["sha256"],
        bench_artifact["model"],
        "onnx",
        "fp32",
        {"kind": "digits"},
        100,
        top1,
        1.0,
        ["a"],
        [[100]],
        None,
        0.1,
        "2026-11-22T00:00:00",
    )


def test_candidates_join_evaluations_and_benchmarks_in_sqlite(tiny_onnx: Path, tiny_tflite: Path, cli) -> None:  # type: ignore[no-untyped-def]
    settings = BenchSettings(warmup_runs=1, warmup_seconds=0, runs=5, min_seconds=0)
    onnx_result, tflite_result = (
        bench(tiny_onnx, threads=1, settings=settings),
        bench(tiny_tflite, threads=1, settings=settings),
    )
    with open_store() as store:
        store.add_bench(onnx_result)
        store.add_bench(tflite_result)
        assert candidates(store) == []  # measured but never evaluated: missing data, not a candidate
        store.add_evaluation(evaluation_of(onnx_result.artifact, 0.8))
        found = candidates(store, BenchFilter(device_id=onnx_result.device["device_id"]))
    assert [c.artifact_name for c in found] == ["tiny_mobilenetv2_fp32.onnx"]
    assert found[0].top1 == 0.8 and found[0].latency_ms["p90"] == onnx_result.latency_ms.p90
    budget = onnx_result.latency_ms.p90 * 2
    result = cli("select", "--budget-ms", budget, "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["chosen"]["artifact_name"] == "tiny_mobilenetv2_fp32.onnx"
    none = cli("select", "--budget-ms", onnx_result.latency_ms.p90 / 100)
    assert none.code == 1 and "nothing fits" in none.stderr


def test_select_and_report_without_a_database_say_so_and_create_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "never.sqlite"
    for args in (("select", "--budget-ms", 5), ("report", "--out", tmp_path / "r.html")):
        result = cli(*args, "--db", db)
        lines = result.stderr.strip().splitlines()
        assert result.code == 1 and len(lines) == 1 and "no results database at" in lines[0]
    assert not db.exists() and not (tmp_path / "r.html").exists()


def test_repeated_measurements_stand_for_their_median(tiny_onnx: Path) -> None:
    real = bench(tiny_onnx, threads=1, settings=BenchSettings(warmup_runs=1, warmup_seconds=0, runs=5, min_seconds=0))

    def scaled(factor: float) -> BenchResult:
        return replace(real, latency_ms=LatencyStats(*(value * factor for value in astuple(real.latency_ms))))

    rows = [scaled(1.3), scaled(1.0), scaled(0.6)]
    assert median_latency(rows, "p90") == real.latency_ms.p90 and median_latency(rows[:2], "p50") == pytest.approx(
        1.15 * real.latency_ms.p50
    )
    with open_store() as store:
        for row in rows:
            store.add_bench(row)
        store.add_evaluation(evaluation_of(real.artifact, 0.8))
        (found,) = candidates(store)
    assert found.latency_ms["p90"] == real.latency_ms.p90 and found.measurements == 3 and found.bench_id == 3
