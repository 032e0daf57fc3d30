"""adb targets without a phone: LiteRT's benchmark output parsed from real runs of several versions, the command
lines built, and the measurement logic run through this machine's shell as the phone's (a directory here)."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime.bench import BenchSettings
from edgeconv.targets import get_target
from edgeconv.targets.adb import AdbTarget
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.targets.native_benchmark import NativeBenchmarkError, parse_native
from edgeconv.targets.runners import tool_command
from edgeconv.targets.transport import ShellTransport, TransportError

OUTPUTS = Path(__file__).parent.parent / "fixtures" / "benchmark_model"


def test_benchmark_model_2x_without_percentiles() -> None:
    result = parse_native((OUTPUTS / "tflite_2_x_peak_memory.txt").read_text())
    assert (result.tool, result.runs) == ("benchmark_model", 50)
    assert result.avg_ms == pytest.approx(249.684) and result.std_ms == pytest.approx(1.442)
    assert (result.min_ms, result.max_ms) == (pytest.approx(247.067), pytest.approx(254.474))
    assert result.init_ms == pytest.approx(16.242) and result.first_ms == pytest.approx(360.262)
    assert math.isnan(result.median_ms) and math.isnan(result.p95_ms)  # not printed: never invented
    assert (result.memory_mb, result.memory_kind) == (pytest.approx(138.809), "peak")


def test_benchmark_model_info_prefix_percentiles_and_exponents() -> None:
    result = parse_native((OUTPUTS / "tflite_info_percentiles.txt").read_text())
    assert result.runs == 50  # the measured line, not the warm-up's count=1
    assert result.avg_ms == pytest.approx(1240.27)  # avg=1.24027e+06 us
    assert result.median_ms == pytest.approx(1239.807) and result.p5_ms == pytest.approx(1238.753)
    assert result.p95_ms == pytest.approx(1247.415) and result.first_ms == pytest.approx(1357.602)
    assert (result.memory_mb, result.memory_kind) == (pytest.approx(109.832), "delta from start")


def test_litert_benchmark_text_and_result_file_agree() -> None:
    text = parse_native((OUTPUTS / "litert_benchmark_2_3.txt").read_text())
    structured = parse_native((OUTPUTS / "litert_benchmark_2_3.json").read_text())
    assert text == structured
    assert (structured.tool, structured.runs, structured.median_ms, structured.init_ms) == (
        "litert-benchmark",
        50,
        0.07,
        3.74,
    )


def test_failed_runs_are_one_clear_error() -> None:
    failed = (
        "Loaded model x.tflite\nERROR: Node number 248 (TfLiteNnapiDelegate) failed to prepare.\nBenchmarking failed.\n"
    )
    with pytest.raises(NativeBenchmarkError, match="benchmark_model printed no result: Benchmarking failed"):
        parse_native(failed)
    with pytest.raises(NativeBenchmarkError, match="result file"):
        parse_native('{"latency": {}}')


def test_command_lines() -> None:
    settings = BenchSettings(warmup_runs=5, warmup_seconds=0.5, runs=50, min_seconds=1.0, max_seconds=120.0)
    classic = tool_command("/data/local/tmp/edgeconv/abc/benchmark_model", "/m.tflite", 1, settings, "/r.json")
    assert classic == [
        "/data/local/tmp/edgeconv/abc/benchmark_model",
        "--graph=/m.tflite",
        "--num_runs=50",
        "--min_secs=1.0",
        "--warmup_runs=5",
        "--warmup_min_secs=0.5",
        "--max_secs=120.0",
        "--use_xnnpack=true",
        "--report_peak_memory_footprint=true",
        "--num_threads=1",
    ]
    litert = tool_command("/x/litert-benchmark", "/m.tflite", None, settings, "/r.json")
    expected = ["/x/litert-benchmark", "--model", "/m.tflite", "--num_runs", "50", "--warmup_runs", "5"]
    assert litert == [*expected, "--result_json", "/r.json"]


class RecordingShell(ShellTransport):
    """This machine as the phone (its file system a directory here), recording every copy."""

    def __init__(self) -> None:
        self.pushed: list[str] = []

    def put(self, local: Path, remote: str, what: str) -> None:
        self.pushed.append(remote)
        super().put(local, remote, what)


def phone(tmp_path: Path, binary: Path) -> AdbTarget:
    target = AdbTarget("emulator-5554", binary, root=str(tmp_path / "device"), transport=RecordingShell())
    target._info = {"hostname": "emulator-5554", "machine": "aarch64", "device_id": "0123456789ab"}  # no getprop here
    return target


def test_measurement_with_litert_benchmark_as_the_device_tool(tmp_path: Path, tiny_tflite: Path) -> None:
    tool = Path(sys.executable).with_name("litert-benchmark")
    if not tool.is_file():
        pytest.skip("litert-benchmark (ai-edge-litert) is not installed")
    target = phone(tmp_path, tool)
    settings = BenchSettings(warmup_runs=3, runs=30)
    result = target.measure(tiny_tflite, MeasureOptions(1, settings))
    assert result.runs == 30 and result.backend["name"] == "litert-benchmark"
    assert 0 < result.latency_ms.min <= result.latency_ms.p50 <= result.latency_ms.max
    assert math.isnan(result.latency_ms.p90)  # the tool reports no p90
    assert result.device["target"] == "adb://emulator-5554" and result.artifact["sha256"]
    assert len(target.shell.pushed) == 2  # type: ignore[attr-defined]  # the tool and the model, once each
    target.measure(tiny_tflite, MeasureOptions(1, settings))
    assert len(target.shell.pushed) == 2  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="cooldown, spinning does not apply to adb://emulator-5554"):
        target.measure(tiny_tflite, MeasureOptions(1, settings, cooldown=1.0, runtime={"spinning": False}))


def test_op_profile_over_adb_is_asked_for_pushed_and_parsed(tmp_path: Path, tiny_tflite: Path) -> None:
    """The adb path end to end through this machine's shell as the phone's: the tool is pushed, asked for its op
    profile, and its output parsed into the result. No benchmark_model binary runs here: the device tool replays
    the real output of one run with --enable_op_profiling=true (MobileNetV1 on a RISC-V board, the fixture's cited
    source), and refuses a command line without that flag or without the pushed model."""
    replay = tmp_path / "benchmark_model"
    fixture = OUTPUTS / "tflite_op_profiling_riscv.txt"
    replay.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" --enable_op_profiling=true "*) ;; *) echo "no profiling asked" >&2; exit 2;; esac\n'
        'for arg in "$@"; do case "$arg" in --graph=*) test -s "${arg#--graph=}" || exit 3;; esac; done\n'
        f"grep -v '^#' {fixture}\n"
    )
    replay.chmod(0o755)
    target = phone(tmp_path, replay)
    result = target.measure(tiny_tflite, MeasureOptions(1, BenchSettings(warmup_runs=1, runs=50), profile=True))
    profile = result.profile
    assert profile is not None and profile["profiler"].startswith("benchmark_model")
    assert profile["by_kind"]["depthwise conv"]["layers"] == 13 and len(profile["layers"]) == 31
    assert profile["coverage"] == pytest.approx(2949.9 / 2950.34, abs=1e-3)  # ops sum against the tool's mean
    assert result.latency_ms.mean == pytest.approx(2950.34) and len(target.shell.pushed) == 2  # type: ignore[attr-defined]
    with pytest.raises(TransportError, match="no profiling asked"):  # no --profile, no flag: the replay refuses
        target.measure(tiny_tflite, MeasureOptions(1, BenchSettings(warmup_runs=1, runs=50)))


def test_bad_adb_use_is_one_line(tmp_path: Path, tiny_onnx: Path, tiny_tflite: Path, cli) -> None:  # type: ignore[no-untyped-def]
    onnx = cli("bench", tiny_onnx, "--target", "adb://emulator-5554")
    assert onnx.code == 1 and "measures with LiteRT's benchmark tool: .tflite files only" in onnx.stderr
    no_tool = cli("bench", tiny_tflite, "--target", "adb://emulator-5554")
    assert no_tool.code == 1 and "needs LiteRT's benchmark_model binary" in no_tool.stderr
    assert get_target("adb://R58M123").name == "adb://R58M123"


# what AOSP's ThermalManagerService dumps (its dumpInternal prints these lines in this order)
THERMAL_DUMP = """IsStatusOverride: false
ThermalEventListeners:
\tcallbacks: 1
ThermalStatusListeners:
\tcallbacks: 1
Thermal Status: {status}
Cached temperatures:
\tTemperature{{mValue=41.2, mType=0, mName=cpu0, mStatus=0}}
HAL Ready: true
"""


def test_thermal_status_is_read_and_a_hot_phone_flags_the_result(
    tmp_path: Path, tiny_tflite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgeconv.targets.adb import parse_thermal_status

    assert parse_thermal_status(THERMAL_DUMP.format(status=0)) == 0
    assert parse_thermal_status("Cached temperatures:\n") is None
    tool = Path(sys.executable).with_name("litert-benchmark")
    if not tool.is_file():
        pytest.skip("litert-benchmark (ai-edge-litert) is not installed")
    bin_dir = tmp_path / "android-bin"  # the phone's dumpsys, for the directory transport
    bin_dir.mkdir()
    (bin_dir / "dumpsys").write_text(f"#!/bin/sh\ncat <<'EOF'\n{THERMAL_DUMP.format(status=2)}EOF\n")
    (bin_dir / "dumpsys").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = phone(tmp_path, tool).measure(tiny_tflite, MeasureOptions(1, BenchSettings(warmup_runs=2, runs=10)))
    assert result.conditions == {"before": {"thermal_status": 2}, "after": {"thermal_status": 2}}
    assert result.invalid and "thermal status 2" in result.invalid
