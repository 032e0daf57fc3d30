"""The measurement protocol: load, first inference, warm-up by count and time, measure by count and time.

Defaults follow TensorFlow Lite's ``benchmark_model``: at least 50 runs and at least one second measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import ArtifactError, EdgeconvError, UsageError
from edgeconv.runtime.artifact_info import describe_artifact
from edgeconv.runtime.backends import load
from edgeconv.runtime.backends.base import Session, runtime_reason
from edgeconv.runtime.device import available_cores, conditions, device_info, invalid_reason
from edgeconv.runtime.lock import device_lock
from edgeconv.runtime.memory import current_rss_mb, peak_rss_mb
from edgeconv.runtime.result import NOISY_CV, BenchResult, LatencyStats

ProgressHook = Callable[[str, int, float], None]  # (phase, runs so far, seconds so far)


@dataclass(frozen=True)
class BenchSettings:
    """How long to warm up and measure. A phase ends when both its count and its time are reached,
    or when ``max_seconds`` has passed (a guard for very slow models)."""

    # metadata: the option every command that measures declares for the field (edgeconv.cli.options)
    warmup_runs: int = field(default=10, metadata={"flag": "--warmup", "min": 0, "help": "Minimum warm-up runs."})
    warmup_seconds: float = field(
        default=0.5, metadata={"flag": "--warmup-seconds", "min": 0, "help": "Minimum warm-up time."}
    )
    runs: int = field(default=50, metadata={"flag": "--runs", "min": 1, "help": "Minimum measured runs."})
    min_seconds: float = field(
        default=1.0, metadata={"flag": "--min-seconds", "min": 0, "help": "Minimum measured time."}
    )
    max_seconds: float = field(
        default=120.0,
        metadata={
            "flag": "--max-seconds",
            "min": 0,
            "min_open": True,
            "help": "Stop each phase after this long even if the minimum run count is not reached.",
        },
    )

    def __post_init__(self) -> None:
        if self.warmup_runs < 0 or self.runs < 1:
            raise UsageError("warm-up runs must be >= 0 and runs >= 1")
        if self.warmup_seconds < 0 or self.min_seconds < 0 or self.max_seconds <= 0:
            raise UsageError("seconds must be >= 0 (and max seconds > 0)")


def sample_input(session: Session, seed: int = 0) -> np.ndarray:
    """A deterministic input of the model's shape and dtype (latency of these CNNs does not depend on content)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(session.input.dtype)
    if dtype.kind == "f":
        return rng.standard_normal(session.input.shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=session.input.shape, endpoint=True).astype(dtype)


def _timed_loop(
    session: Session, x: np.ndarray, runs: int, seconds: float, limit: float, phase: str, hook: ProgressHook | None
) -> list[float]:
    samples: list[float] = []
    start = time.perf_counter()
    elapsed = 0.0
    while (len(samples) < runs or elapsed < seconds) and elapsed < limit:
        t0 = time.perf_counter_ns()
        session.run_accepted(x)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        elapsed = time.perf_counter() - start
        if hook is not None:
            hook(phase, len(samples), elapsed)
    return samples


COOL_DOWN_LIMIT_S = 600.0


def _cool_down(seconds: float, max_temp_c: float | None) -> None:
    time.sleep(seconds)
    deadline = time.monotonic() + COOL_DOWN_LIMIT_S
    while max_temp_c is not None and time.monotonic() < deadline:
        temperature = conditions()["temperature_c"]
        if temperature is None or temperature <= max_temp_c:
            return
        time.sleep(2.0)


def bench(
    path: str | Path,
    threads: int | None = None,
    settings: BenchSettings | None = None,
    progress: ProgressHook | None = None,
    cooldown_s: float = 0.0,
    max_temp_c: float | None = None,
    max_rss_mb: float | None = None,
    profile_runs: int = 0,
    **backend_options: Any,
) -> BenchResult:
    """Measure the latency of the model file at ``path`` on this device.

    ``threads`` defaults to the cores this process may use. ``backend_options`` go to the backend's
    loader (e.g. ``spinning=False`` for onnxruntime) and are recorded in the result. The device lock is held
    from loading to the last run; the device's conditions are read before and after, and a result taken while
    throttled (or above ``max_temp_c``) says why in ``invalid``. ``cooldown_s`` idles the device first, and
    with ``max_temp_c`` the measurement waits (up to ``COOL_DOWN_LIMIT_S``) until the device is that cool.
    With ``max_rss_mb``, a model whose files alone would not fit beside what this process already holds is
    refused before it loads, and a result whose peak resident memory exceeds the limit says so in ``invalid``.
    With ``profile_runs``, the runtime's own profiler then runs the model that many more times, in a session
    of its own after the timed runs, and the result carries the per-op profile (:mod:`edgeconv.runtime.profile`).
    """
    path = Path(path)
    settings = settings or BenchSettings()
    threads = available_cores() if threads is None else threads
    artifact = describe_artifact(path)
    if profile_runs:
        from edgeconv.runtime.profile import check_profilable

        check_profilable(path)  # before the timed runs, not after them
    rss_before = current_rss_mb()
    check_fits(path.name, artifact["size_bytes"], rss_before, max_rss_mb)
    with device_lock() as lock_wait_s:
        _cool_down(cooldown_s, max_temp_c)
        measured_from = time.time()
        before = conditions()
        t0 = time.perf_counter()
        session = load(path, threads=threads, **backend_options)
        init_ms = (time.perf_counter() - t0) * 1e3
        x = sample_input(session)
        t0 = time.perf_counter()
        session.run(x)  # checks the input once; the timed loops run it unchecked
        first_ms = (time.perf_counter() - t0) * 1e3

        limit = settings.max_seconds
        warm = _timed_loop(session, x, settings.warmup_runs, settings.warmup_seconds, limit, "warmup", progress)
        samples = _timed_loop(session, x, settings.runs, settings.min_seconds, limit, "measure", progress)
        after = conditions()
        measured_until = time.time()
        stats = LatencyStats.from_samples(samples)
        profile = _profile(path, threads, profile_runs, stats.p50, progress, backend_options) if profile_runs else None
    cv = stats.std / stats.mean if stats.mean > 0 else 0.0
    return BenchResult(
        artifact=artifact,
        backend=session.describe(),
        device=device_info(),
        init_ms=init_ms,
        first_inference_ms=first_ms,
        warmup_runs=len(warm),
        warmup_seconds=sum(warm) / 1e3,
        latency_ms=stats,
        runs=len(samples),
        seconds=sum(samples) / 1e3,
        cv=cv,
        noisy=cv > NOISY_CV,
        peak_rss_mb=peak_rss_mb(),
        rss_before_load_mb=rss_before,
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        samples_ms=samples,
        measured_from=measured_from,
        measured_until=measured_until,
        lock_wait_s=round(lock_wait_s, 3),
        conditions={"before": before, "after": after},
        invalid=invalid_reason(before, after, max_temp_c) or rss_reason(peak_rss_mb(), max_rss_mb),
        profile=profile,
    )


def _profile(
    path: Path, threads: int, runs: int, p50_ms: float, progress: ProgressHook | None, options: dict[str, Any]
) -> dict[str, Any]:
    from edgeconv.quiet import quiet
    from edgeconv.runtime.profile import profile_artifact, summarise

    if progress is not None:
        progress("profiling", 0, 0.0)
    with quiet():
        try:
            return summarise(profile_artifact(path, threads, runs, **options), p50_ms, runs)
        except EdgeconvError:
            raise
        except Exception as exc:  # the runtimes' own (pybind) exception types
            raise ArtifactError(f"profiling {path.name} failed: {runtime_reason(exc)}") from None


def check_fits(name: str, size_bytes: int, rss_mb: float | None, max_rss_mb: float | None) -> None:
    """Refuse, before loading, a model whose files (its weights, which must be resident) would not fit in
    ``max_rss_mb`` beside the ``rss_mb`` this process already holds."""
    if max_rss_mb is None:
        return
    needed = (rss_mb or 0.0) + size_bytes / 2**20
    if needed > max_rss_mb:
        raise UsageError(
            f"{name} needs at least {needed:.0f} MB resident ({size_bytes / 2**20:.1f} MB of model files beside "
            f"{rss_mb or 0:.0f} MB already in use) and --max-rss is {max_rss_mb:g} MB: refused before loading"
        )


def rss_reason(peak_mb: float | None, max_rss_mb: float | None) -> str | None:
    """Why a result is invalid under ``max_rss_mb``: its peak resident memory went above it."""
    if max_rss_mb is None or peak_mb is None or peak_mb <= max_rss_mb:
        return None
    return f"peak resident memory {peak_mb:.0f} MB, above --max-rss {max_rss_mb:g} MB"
