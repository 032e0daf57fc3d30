"""Results of LiteRT's own benchmark tools, as edgeconv records them.

Android has no Python, so an ``adb://`` target measures with the native ``benchmark_model`` binary and reads
what it prints (or the JSON that ai-edge-litert's ``litert-benchmark`` writes with ``--result_json``). The
printed format has changed over the versions: an ``INFO:`` prefix or none (or logcat's ``I tflite  :``),
percentiles or none, microseconds in exponent notation (``avg=1.24027e+06``), and the memory line as "delta
from the start of the tool" or "peak". Percentiles the tool does not print are NaN, never invented.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from edgeconv.errors import EdgeconvError

_NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_PREFIX = re.compile(r"^\s*(?:\d{4}-\d\d-\d\d [\d:]+ )?(?:INFO:|[IWE] tflite\s*:)?\s*")
_FIELD = re.compile(rf"(\w+)=({_NUMBER})")
_SUMMARY = re.compile(
    rf"Inference timings in us: Init: ({_NUMBER}), First inference: ({_NUMBER}), "
    rf"Warmup \(avg\): ({_NUMBER}), Inference \(avg\): ({_NUMBER})"
)
_MEMORY = re.compile(
    rf"(Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): "
    rf"init=({_NUMBER}) overall=({_NUMBER})"
)
_LITERT_LINE = re.compile(rf"^(Model initialization|Warmup \(first\)|Inference \((\w+)\)):\s+({_NUMBER}) ms")


class NativeBenchmarkError(EdgeconvError):
    """The tool's output holds no result (it failed, or printed something edgeconv cannot read)."""


@dataclass(frozen=True)
class NativeBenchmark:
    """One run of a native benchmark tool, in milliseconds and megabytes."""

    tool: str
    init_ms: float
    first_ms: float
    runs: int
    avg_ms: float
    std_ms: float
    min_ms: float
    max_ms: float
    median_ms: float  # NaN where the tool prints no percentiles
    p5_ms: float
    p95_ms: float
    memory_mb: float | None  # overall memory footprint, where printed
    memory_kind: str | None  # "delta from start" or "peak"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _lines(text: str) -> list[str]:
    return [_PREFIX.sub("", line).rstrip() for line in text.splitlines() if not line.lstrip().startswith("#")]


def parse_benchmark_model(text: str) -> NativeBenchmark:
    """The result printed by ``benchmark_model`` (any version seen): the measured ``count=`` line (the last
    one before the summary; the first is the warm-up), the summary and the memory line."""
    lines = _lines(text)
    summary_index = next((i for i, line in enumerate(lines) if _SUMMARY.search(line)), None)
    if summary_index is None:
        raise NativeBenchmarkError(f"benchmark_model printed no result: {_last_error(lines)}")
    summary = _SUMMARY.search(lines[summary_index])
    assert summary is not None
    measured = [line for line in lines[:summary_index] if line.startswith("count=") and "avg=" in line]
    if not measured:
        raise NativeBenchmarkError("benchmark_model printed a summary but no measured run statistics")
    fields = {key: float(value) for key, value in _FIELD.findall(measured[-1])}
    memory = next((m for line in lines if (m := _MEMORY.search(line))), None)
    us = 1e-3
    return NativeBenchmark(
        tool="benchmark_model",
        init_ms=float(summary.group(1)) * us,
        first_ms=float(summary.group(2)) * us,
        runs=int(fields["count"]),
        avg_ms=fields["avg"] * us,
        std_ms=fields.get("std", math.nan) * us,
        min_ms=fields.get("min", math.nan) * us,
        max_ms=fields.get("max", math.nan) * us,
        median_ms=fields.get("median", math.nan) * us,
        p5_ms=fields.get("p5", math.nan) * us,
        p95_ms=fields.get("p95", math.nan) * us,
        memory_mb=float(memory.group(3)) if memory else None,
        memory_kind=None if memory is None else "peak" if memory.group(1).startswith("Peak") else "delta from start",
    )


def parse_litert_benchmark(text: str) -> NativeBenchmark:
    """What ai-edge-litert's ``litert-benchmark`` prints (its ``BENCHMARK RESULTS`` block)."""
    values: dict[str, float] = {}
    runs = 0
    for line in _lines(text):
        match = _LITERT_LINE.match(line)
        if match:
            values[match.group(2) or match.group(1)] = float(match.group(3))
            if match.group(2) == "avg" and (count := re.search(r"\((\d+) runs\)", line)):
                runs = int(count.group(1))
    if "avg" not in values:
        raise NativeBenchmarkError(f"litert-benchmark printed no result: {_last_error(_lines(text))}")
    return NativeBenchmark(
        tool="litert-benchmark",
        init_ms=values.get("Model initialization", math.nan),
        first_ms=values.get("Warmup (first)", math.nan),
        runs=runs,
        avg_ms=values["avg"],
        std_ms=values.get("std", math.nan),
        min_ms=values.get("min", math.nan),
        max_ms=values.get("max", math.nan),
        median_ms=values.get("median", math.nan),
        p5_ms=values.get("p5", math.nan),
        p95_ms=values.get("p95", math.nan),
        memory_mb=None,
        memory_kind=None,
    )


def parse_litert_result_json(text: str) -> NativeBenchmark:
    """The file ``litert-benchmark --result_json`` writes (preferred over its printed text)."""
    try:
        latency = json.loads(text)["latency"]
        return NativeBenchmark(
            tool="litert-benchmark",
            init_ms=float(latency["init_ms"]),
            first_ms=float(latency["warmup_first_ms"]),
            runs=int(latency["num_runs"]),
            avg_ms=float(latency["avg_ms"]),
            std_ms=float(latency.get("std_ms", math.nan)),
            min_ms=float(latency.get("min_ms", math.nan)),
            max_ms=float(latency.get("max_ms", math.nan)),
            median_ms=float(latency.get("median_ms", math.nan)),
            p5_ms=float(latency.get("p5_ms", math.nan)),
            p95_ms=float(latency.get("p95_ms", math.nan)),
            memory_mb=None,
            memory_kind=None,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise NativeBenchmarkError(f"litert-benchmark's result file is not what it writes ({exc})") from None


def parse_native(text: str) -> NativeBenchmark:
    """Whichever of the formats above ``text`` is."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return parse_litert_result_json(text)
    if "BENCHMARK RESULTS" in text:
        return parse_litert_benchmark(text)
    return parse_benchmark_model(text)


def _last_error(lines: list[str]) -> str:
    errors = [line for line in lines if "ERROR" in line or "failed" in line.lower()]
    return (errors or [line for line in lines if line] or ["no output"])[-1]
