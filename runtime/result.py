"""``BenchResult``: everything one latency measurement recorded, serialisable to and from JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

SCHEMA_VERSION = 2  # 2: lock timestamps, device conditions before/after, invalid
NOISY_CV = 0.15  # coefficient of variation above which a measurement is flagged as noisy


@dataclass(frozen=True)
class LatencyStats:
    """Warm latency statistics in milliseconds."""

    min: float
    mean: float
    std: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def from_samples(cls, samples_ms: list[float]) -> LatencyStats:
        """Statistics of ``samples_ms`` (percentiles by linear interpolation, std with ddof=0)."""
        a = np.asarray(samples_ms, dtype=np.float64)
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        return cls(float(a.min()), float(a.mean()), float(a.std()), float(p50), float(p90), float(p99), float(a.max()))


@dataclass
class BenchResult:
    """One benchmark of one artifact with one backend configuration on one device."""

    artifact: dict[str, Any]  # path, sha256, format, precision, size_bytes, model, ...
    backend: dict[str, Any]  # name, version, input/output specs, settings (threads, spinning, precision...)
    device: dict[str, Any]  # the fingerprint of runtime.device.device_info()
    init_ms: float
    first_inference_ms: float
    warmup_runs: int
    warmup_seconds: float
    latency_ms: LatencyStats
    runs: int
    seconds: float
    cv: float
    noisy: bool
    peak_rss_mb: float | None
    rss_before_load_mb: float | None
    timestamp: str
    samples_ms: list[float] = field(repr=False)
    schema_version: int = SCHEMA_VERSION
    # the device lock was held from measured_from to measured_until (unix seconds), after waiting lock_wait_s
    measured_from: float | None = None
    measured_until: float | None = None
    lock_wait_s: float | None = None
    conditions: dict[str, Any] | None = None  # device_conditions before and after (runtime.device.conditions)
    invalid: str | None = None  # why the result cannot be trusted (throttled, too hot); never used for selection
    # achieved GMAC/s at p50 and its fraction of the device's GEMM peak (runtime.peak.efficiency), when known
    efficiency: dict[str, Any] | None = None
    # per-op times from the runtime's own profiler, in runs separate from the timed ones (runtime.profile)
    profile: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict."""
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        """Rebuild a result from :meth:`to_dict` output; unknown keys are ignored (forward compatible)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["latency_ms"] = LatencyStats(**values["latency_ms"])
        return cls(**values)

    def stat(self, name: str) -> float:
        """A latency statistic by name: 'p50', 'p90', 'p99', 'mean', 'min' or 'max'."""
        return float(getattr(self.latency_ms, name))


def median_latency(results: list[BenchResult], stat: str) -> float:
    """The median of one statistic over repeated measurements of the same artifact. A one-second measurement
    on a shared machine can land wholly in a quiet or a busy spell of its neighbours (30% apart here); the
    median of a few spread over time does not."""
    if not results:
        raise ValueError("no measurements")
    return float(np.median([r.stat(stat) for r in results]))
