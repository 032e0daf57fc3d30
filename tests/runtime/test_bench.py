"""The measurement protocol and BenchResult: counts and times honoured, statistics consistent, JSON round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime import BenchResult, BenchSettings, bench
from edgeconv.runtime.device import device_info
from edgeconv.runtime.result import LatencyStats


def test_latency_stats_match_numpy() -> None:
    samples = [5.0, 1.0, 2.0, 3.0, 4.0, 10.0, 2.5]
    stats = LatencyStats.from_samples(samples)
    assert stats.min == 1.0 and stats.max == 10.0
    assert stats.p50 == pytest.approx(np.median(samples))
    assert stats.p90 == pytest.approx(np.percentile(samples, 90))
    assert stats.mean == pytest.approx(np.mean(samples)) and stats.std == pytest.approx(np.std(samples))


def test_bench_honours_counts_and_records_everything(tiny_onnx: Path) -> None:
    settings = BenchSettings(warmup_runs=5, warmup_seconds=0.05, runs=30, min_seconds=0.2)
    result = bench(tiny_onnx, threads=1, settings=settings)
    assert result.runs >= 30 and result.seconds >= 0.2 * 0.9  # seconds sums inference time only
    assert result.warmup_runs >= 5
    assert len(result.samples_ms) == result.runs
    lat = result.latency_ms
    assert lat.min <= lat.p50 <= lat.p90 <= lat.p99 <= lat.max
    assert lat.p50 == pytest.approx(float(np.percentile(result.samples_ms, 50)))
    assert result.cv == pytest.approx(lat.std / lat.mean)
    assert result.init_ms > 0 and result.first_inference_ms > 0
    assert result.peak_rss_mb is not None and result.peak_rss_mb > 10
    art = result.artifact
    assert art["format"] == "onnx" and art["precision"] == "fp32" and art["model"]["model"] == "mobilenetv2"
    assert art["size_bytes"] == tiny_onnx.stat().st_size
    sidecar = json.loads(tiny_onnx.with_name(tiny_onnx.name + ".json").read_text())
    assert art["sha256"] == sidecar["sha256"]
    assert result.backend["settings"]["threads"] == 1
    assert result.device["device_id"] == device_info()["device_id"]


def test_max_seconds_stops_a_long_measurement(tiny_onnx: Path) -> None:
    settings = BenchSettings(warmup_runs=0, warmup_seconds=0, runs=10**9, min_seconds=0, max_seconds=0.3)
    result = bench(tiny_onnx, threads=1, settings=settings)
    assert 1 <= result.runs < 10**9


def test_result_json_round_trip(tiny_onnx: Path) -> None:
    result = bench(tiny_onnx, threads=1, settings=BenchSettings(2, 0, 5, 0))
    again = BenchResult.from_dict(json.loads(result.to_json()))
    assert again == result


def test_artifact_without_sidecar_is_measured_as_unknown_precision(tiny_onnx: Path) -> None:
    tiny_onnx.with_name(tiny_onnx.name + ".json").unlink()
    result = bench(tiny_onnx, threads=1, settings=BenchSettings(1, 0, 3, 0))
    assert result.artifact["precision"] == "unknown" and result.artifact["has_sidecar"] is False


def test_bad_settings_are_refused() -> None:
    with pytest.raises(UsageError):
        BenchSettings(runs=0)


def test_device_fingerprint_has_the_explaining_fields() -> None:
    info = device_info()
    for key in (
        "machine",
        "cpu_model",
        "cores_logical",
        "cores_available",
        "os",
        "governor",
        "temperature_c",
        "device_id",
    ):
        assert key in info
    assert info["cores_available"] >= 1 and len(info["device_id"]) == 12
