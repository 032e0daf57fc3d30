"""What measures an artifact on a device, through any transport: edgeconv's own ``edgeconv bench``
(:class:`EdgeconvRunner`: a board with Python, or this machine) or LiteRT's native benchmark tool
(:class:`NativeRunner`: a phone, which has no Python)."""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from edgeconv.errors import EdgeconvError, UsageError
from edgeconv.runtime.artifact_info import describe_artifact
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.result import BenchResult, LatencyStats
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.targets.native_benchmark import NativeBenchmark, parse_native
from edgeconv.targets.transport import Transport, TransportError, check


class Runner(Protocol):
    """Measures a file already on the device."""

    def measure(
        self, transport: Transport, model: str, local: Path, options: MeasureOptions, timeout: float
    ) -> BenchResult:
        """Benchmark ``model`` (the device's copy of ``local``) with ``options``; the result is not stored."""
        ...


@dataclass(frozen=True)
class EdgeconvRunner:
    """``edgeconv bench --json --no-store`` run by ``python`` (the command that starts edgeconv there)."""

    python: tuple[str, ...]

    def command(self, model: str, options: MeasureOptions) -> list[str]:
        """The command line that measures ``model``."""
        return [*self.python, "bench", model, *options.to_argv(), "--json", "--no-store"]

    def measure(
        self, transport: Transport, model: str, local: Path, options: MeasureOptions, timeout: float
    ) -> BenchResult:
        out = check(transport, shlex.join(self.command(model, options)), f"measuring {local.name}", timeout)
        try:
            return BenchResult.from_dict(json.loads(out))
        except (ValueError, KeyError, TypeError):
            raise EdgeconvError(f"measuring {local.name} on {transport.label} returned no result") from None


def tool_command(
    binary: str, model: str, threads: int | None, settings: BenchSettings, result: str, profile: bool = False
) -> list[str]:
    """The benchmark tool's command line; ``result`` is where ``litert-benchmark`` writes its JSON; ``profile``
    asks ``benchmark_model`` for its op profiling table."""
    runs = str(settings.runs)
    if Path(binary).name.startswith("litert-benchmark"):
        command = [binary, "--model", model, "--num_runs", runs, "--warmup_runs", str(max(settings.warmup_runs, 1))]
        command += ["--num_threads", str(threads)] if threads else []
        return [*command, "--result_json", result]
    command = [binary, f"--graph={model}", f"--num_runs={runs}", f"--min_secs={settings.min_seconds}"]
    command += [f"--warmup_runs={settings.warmup_runs}", f"--warmup_min_secs={settings.warmup_seconds}"]
    command += [f"--max_secs={settings.max_seconds}", "--use_xnnpack=true", "--report_peak_memory_footprint=true"]
    command += ["--enable_op_profiling=true"] if profile else []
    return command + ([f"--num_threads={threads}"] if threads else [])


def to_bench_result(
    native: NativeBenchmark, artifact: dict[str, Any], device: dict[str, Any], settings: dict[str, Any]
) -> BenchResult:
    """A BenchResult from a native tool's figures; what the tool does not report (p90, p99, raw samples) is
    NaN or empty, so a selection on p90 refuses it rather than guess."""
    latency = LatencyStats(
        min=native.min_ms,
        mean=native.avg_ms,
        std=native.std_ms,
        p50=native.median_ms,
        p90=math.nan,
        p99=math.nan,
        max=native.max_ms,
    )
    cv = native.std_ms / native.avg_ms if native.avg_ms > 0 and not math.isnan(native.std_ms) else math.nan
    return BenchResult(
        artifact=artifact,
        backend={"name": native.tool, "version": "native", "settings": settings},
        device=device,
        init_ms=native.init_ms,
        first_inference_ms=native.first_ms,
        warmup_runs=-1,
        warmup_seconds=math.nan,
        latency_ms=latency,
        runs=native.runs,
        seconds=native.avg_ms * native.runs / 1e3,
        cv=cv,
        noisy=bool(cv > 0.15),
        peak_rss_mb=native.memory_mb,
        rss_before_load_mb=None,
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        samples_ms=[],
    )


@dataclass(frozen=True)
class NativeRunner:
    """LiteRT's ``benchmark_model`` (its printed result parsed) or ``litert-benchmark`` (its ``--result_json``
    file read), at ``binary`` on the device; results are written under ``scratch``."""

    binary: str
    device: dict[str, Any]
    scratch: str

    @staticmethod
    def refuse_conditions(options: MeasureOptions, label: str) -> None:
        """A one-line :class:`UsageError` for options the tool cannot honour (cooldown, limits, runtime settings)."""
        if options.conditions():
            raise UsageError(f"{', '.join(options.conditions())} does not apply to {label}")

    def measure(
        self, transport: Transport, model: str, local: Path, options: MeasureOptions, timeout: float
    ) -> BenchResult:
        self.refuse_conditions(options, transport.label)
        artifact = describe_artifact(local)
        result_file = f"{self.scratch}/{artifact['sha256']}.json"
        command = tool_command(self.binary, model, options.threads, options.settings, result_file, options.profile)
        if options.profile and "--result_json" in command:
            raise UsageError(f"{Path(self.binary).name} has no op profiling: --profile needs LiteRT's benchmark_model")
        check(transport, f"mkdir -p {shlex.quote(self.scratch)}", "preparing the benchmark")
        status, out, err = transport.run(shlex.join(command), f"measuring {local.name}", timeout)
        if status != 0:
            lines = [line for line in (out + err).splitlines() if line.strip()]
            raise TransportError(f"measuring {local.name} on {transport.label} failed: {(lines or ['no output'])[-1]}")
        if "--result_json" in command:
            out = check(transport, f"cat {shlex.quote(result_file)}", "reading the benchmark's result")
        record = {"threads": options.threads or "default", "tool": Path(self.binary).name, "command": command}
        result = to_bench_result(parse_native(out), {**artifact, "device_path": model}, self.device, record)
        if options.profile:
            from edgeconv.runtime.profile import summarise
            from edgeconv.runtime.profile.native_ops import native_profile

            profile = native_profile(out, Path(self.binary).name)
            p50 = result.latency_ms.p50  # NaN where the tool prints no percentiles: then its mean
            result.profile = summarise(profile, result.latency_ms.mean if math.isnan(p50) else p50, result.runs)
        return result
