"""One measurement at a time per device, and measurements taken while throttled are flagged."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from edgeconv.runtime.device import invalid_reason
from edgeconv.targets.base import edgeconv_process


def test_two_benches_started_together_never_overlap(tiny_onnx: Path, tmp_path: Path) -> None:
    env = {**os.environ, "EDGECONV_DEVICE_LOCK": str(tmp_path / "device.lock")}
    command = [*edgeconv_process(), "bench", str(tiny_onnx), "-t", "1", "--runs", "10"]
    command += ["--min-seconds", "0.8", "--warmup-seconds", "0.2", "--json", "--no-store"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    procs = [subprocess.Popen(command, env=env, **pipes) for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out))
    first, second = sorted(results, key=lambda r: r["measured_from"])
    assert first["measured_until"] <= second["measured_from"]  # one after the other
    assert second["lock_wait_s"] > 0.5  # the second process started at once and waited its turn
    assert first["measured_until"] - first["measured_from"] >= 1.0  # warm-up + measurement inside the lock


def test_result_records_conditions_before_and_after(tiny_onnx: Path) -> None:
    from edgeconv.runtime import bench
    from edgeconv.runtime.bench import BenchSettings

    result = bench(tiny_onnx, threads=1, settings=BenchSettings(warmup_runs=1, runs=3, min_seconds=0))
    assert set(result.conditions or {}) == {"before", "after"}
    assert {"governor", "cur_freq_mhz", "temperature_c", "throttled"} <= set(result.conditions["before"])
    assert result.measured_from is not None and result.measured_until is not None
    assert result.measured_from < result.measured_until and result.invalid is None
    assert result.device["int8_path"] in ("avx2", "avx512-vnni", "avx-vnni", "amx", "neon-dotprod", "neon-i8mm")


def raspberry(throttled: str | None, temperature: float | None = 50.0) -> dict[str, object]:
    return {"throttled": throttled, "temperature_c": temperature}


@pytest.mark.parametrize(
    ("before", "after", "max_temp", "reason"),
    [
        (raspberry("0x0"), raspberry("0x0"), None, None),
        (raspberry(None), raspberry(None), None, None),  # not a Raspberry Pi
        (raspberry("0x50000"), raspberry("0x50000"), None, None),  # throttled earlier since boot, not now
        (raspberry("0x0"), raspberry("0x4"), None, "throttled or frequency-capped"),  # bit 2: throttled now
        (raspberry("0x50005"), raspberry("0x50005"), None, "throttled or frequency-capped"),  # under-voltage now
        (raspberry("0x0"), raspberry("0x20000"), None, "throttled during the measurement"),  # capped, recovered
        (raspberry("0x0", 71.5), raspberry("0x0", 80.2), 75.0, "80.2 C, above --max-temp 75 C"),
        (raspberry("0x0", 71.5), raspberry("0x0", 74.0), 75.0, None),
    ],
)
def test_throttling_and_heat_make_a_result_invalid(
    before: dict[str, object], after: dict[str, object], max_temp: float | None, reason: str | None
) -> None:
    found = invalid_reason(before, after, max_temp)
    assert found == reason if reason is None else reason in (found or "")
