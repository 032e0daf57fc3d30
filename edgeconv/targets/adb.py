"""``adb://SERIAL``: an Android phone, measured with LiteRT's native benchmark tool (Android has no Python).

The user gives the tool's binary (``--benchmark-model PATH`` or ``$EDGECONV_BENCHMARK_MODEL``): the classic
``benchmark_model``, whose printed result is parsed, or ``litert-benchmark``, whose ``--result_json`` file is
read. The binary and each artifact are pushed once into ``/data/local/tmp/edgeconv/<sha256>/`` (to a temporary
name, then renamed). Thermal status (``dumpsys thermalservice``) is read before and after; a measurement that
ends at "moderate" or worse is flagged invalid. The plain ``adb`` client runs as a subprocess.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeconv.atomic import sha256_files
from edgeconv.errors import EdgeconvError, UsageError
from edgeconv.runtime.artifact_info import describe_artifact
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.device import int8_path
from edgeconv.runtime.result import BenchResult, LatencyStats
from edgeconv.targets.native_benchmark import NativeBenchmark, parse_native

DEVICE_ROOT = "/data/local/tmp/edgeconv"
STATUS = "edgeconv-status:"
MODERATE = 2  # Android's thermal status: 0 none, 1 light, 2 moderate (throttling), 3 severe, ...


@dataclass
class Adb:
    """The plain ``adb`` client for one device."""

    serial: str

    def shell(self, command: str, timeout: float) -> tuple[int, str]:
        """Run ``command`` in the device's shell; its exit status comes back on a status line (old adbd
        versions do not pass it through)."""
        wrapped = f"{command}; echo {STATUS}$?"
        proc = self._adb(["shell", wrapped], timeout)
        out = proc.stdout.replace("\r\n", "\n")
        body, _, last = out.rstrip("\n").rpartition("\n")
        if not last.startswith(STATUS):
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise EdgeconvError(f"adb://{self.serial}: {reason}")
        return int(last.removeprefix(STATUS)), body

    def push(self, local: Path, remote: str, timeout: float) -> None:
        proc = self._adb(["push", str(local), remote], timeout)
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["push failed"])[-1]
            raise EdgeconvError(f"copying {local.name} to adb://{self.serial} failed: {reason}")

    def _adb(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["adb", "-s", self.serial, *args], capture_output=True, text=True, timeout=timeout, check=False
            )
        except FileNotFoundError:
            raise EdgeconvError("adb targets need the Android platform tools (the `adb` command)") from None
        except subprocess.TimeoutExpired:
            raise EdgeconvError(f"adb://{self.serial} did not answer within {timeout:.0f} s") from None


def parse_thermal_status(dump: str) -> int | None:
    """The ``Thermal Status: N`` line of ``dumpsys thermalservice`` (AOSP's ThermalManagerService dump)."""
    found = re.search(r"^Thermal Status:\s*(\d+)", dump, re.MULTILINE)
    return int(found.group(1)) if found else None


def tool_command(binary: str, model: str, threads: int | None, settings: BenchSettings, result: str) -> list[str]:
    """The benchmark tool's command line; ``result`` is where ``litert-benchmark`` writes its JSON."""
    runs = str(settings.runs)
    if Path(binary).name.startswith("litert-benchmark"):
        command = [binary, "--model", model, "--num_runs", runs, "--warmup_runs", str(max(settings.warmup_runs, 1))]
        command += ["--num_threads", str(threads)] if threads else []
        return [*command, "--result_json", result]
    command = [binary, f"--graph={model}", f"--num_runs={runs}", f"--min_secs={settings.min_seconds}"]
    command += [f"--warmup_runs={settings.warmup_runs}", f"--warmup_min_secs={settings.warmup_seconds}"]
    command += [f"--max_secs={settings.max_seconds}", "--use_xnnpack=true", "--report_peak_memory_footprint=true"]
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


@dataclass
class AdbTarget:
    """An Android device reached with ``adb``."""

    serial: str
    binary: Path | None = None
    root: str = DEVICE_ROOT
    adb: Any = None  # the transport (Adb); another object with shell/push runs the same logic elsewhere
    run_timeout: float = 900.0
    capabilities: frozenset[str] = frozenset()  # LiteRT's native tool measures .tflite files, nothing more
    _info: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.adb = self.adb or Adb(self.serial)
        if self.binary is None and os.environ.get("EDGECONV_BENCHMARK_MODEL"):
            self.binary = Path(os.environ["EDGECONV_BENCHMARK_MODEL"])

    @property
    def name(self) -> str:
        return f"adb://{self.serial}"

    def push_once(self, local: Path, sha256: str) -> str:
        """``local`` on the device under its content hash, pushed unless already there."""
        remote = f"{self.root}/{sha256}/{local.name}"
        status, _ = self.adb.shell(f"test -f {shlex.quote(remote)}", 60)
        if status != 0:
            self.adb.shell(f"mkdir -p {shlex.quote(f'{self.root}/{sha256}')}", 60)
            self.adb.push(local, remote + ".part", 60 + local.stat().st_size / 1e5)
            status, out = self.adb.shell(f"mv {shlex.quote(remote + '.part')} {shlex.quote(remote)}", 60)
            if status != 0:
                raise EdgeconvError(f"copying {local.name} to {self.name} failed: {out.strip()}")
        return remote

    def fingerprint(self) -> dict[str, Any]:
        """Model, SoC, Android version and CPU features of the device, read once."""
        if self._info is None:
            keys = ("ro.product.model", "ro.product.manufacturer", "ro.board.platform", "ro.build.version.release")
            props = {}
            for key in keys:
                props[key] = self.adb.shell(f"getprop {key}", 30)[1].strip()
            features = self.adb.shell("grep -m1 -i '^Features' /proc/cpuinfo", 30)[1].partition(":")[2].split()
            identity = "|".join([self.serial, *props.values()])
            self._info = {
                "hostname": self.serial,
                "machine": self.adb.shell("uname -m", 30)[1].strip(),
                "board": f"{props['ro.product.manufacturer']} {props['ro.product.model']}".strip(),
                "cpu_model": props["ro.board.platform"],
                "cpu_flags": sorted(set(features) & {"asimd", "asimddp", "i8mm", "sve", "bf16"}),
                "os": f"Android {props['ro.build.version.release']}",
                "device_id": hashlib.sha256(identity.encode()).hexdigest()[:12],
            }
            self._info["int8_path"] = int8_path(self._info)
        return self._info

    @property
    def device_id(self) -> str:
        return str(self.fingerprint()["device_id"])

    def device(self) -> dict[str, Any]:
        return self.fingerprint()

    def peak(self, threads: list[int] | None) -> dict[str, Any]:
        raise UsageError(
            f"{self.name} runs LiteRT's native benchmark tool, which has no GEMM peak measurement; measure the "
            "peak on a board with edgeconv's runner (local or ssh)"
        )

    def thermal_status(self) -> int | None:
        status, out = self.adb.shell("dumpsys thermalservice", 30)
        return parse_thermal_status(out) if status == 0 else None

    def measure(self, path: Path, threads: int | None, settings: BenchSettings, **options: Any) -> BenchResult:
        """Benchmark the .tflite ``path`` on the phone with the native tool."""
        if path.suffix.lower() != ".tflite":
            raise UsageError(f"{self.name} measures with LiteRT's benchmark tool: .tflite files only, not {path.name}")
        given = [
            name for name, value in options.items() if value is not None and not (name == "cooldown" and not value)
        ]
        if given:
            raise UsageError(f"{', '.join(given)} does not apply to {self.name}")
        if self.binary is None or not self.binary.is_file():
            raise UsageError(f"{self.name} needs LiteRT's benchmark_model binary: --benchmark-model PATH")
        artifact = describe_artifact(path)
        binary = self.push_once(self.binary, sha256_files(self.binary))
        self.adb.shell(f"chmod 755 {shlex.quote(binary)}", 30)
        model = self.push_once(path, artifact["sha256"])
        result_file = f"{self.root}/{artifact['sha256']}/result.json"
        command = tool_command(binary, model, threads, settings, result_file)
        before = self.thermal_status()
        status, out = self.adb.shell(shlex.join(command), self.run_timeout)
        after = self.thermal_status()
        if status != 0:
            lines = [line for line in out.splitlines() if line.strip()]
            raise EdgeconvError(f"measuring {path.name} on {self.name} failed: {(lines or ['no output'])[-1]}")
        if "--result_json" in command:
            out = self.adb.shell(f"cat {shlex.quote(result_file)}", 30)[1]
        settings_record = {"threads": threads or "default", "tool": Path(self.binary).name, "command": command}
        conditions = {"before": {"thermal_status": before}, "after": {"thermal_status": after}}
        device = {**self.fingerprint(), "target": self.name}
        result = to_bench_result(parse_native(out), {**artifact, "device_path": model}, device, settings_record)
        result.conditions = conditions
        if after is not None and after >= MODERATE:
            result.invalid = f"thermal status {after} (moderate or worse) at the end of the measurement"
        return result
