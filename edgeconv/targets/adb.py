"""``adb://SERIAL``: an Android phone, measured with LiteRT's native benchmark tool (Android has no Python).

The user gives the tool's binary (``--benchmark-model PATH`` or ``$EDGECONV_BENCHMARK_MODEL``): the classic
``benchmark_model``, whose printed result is parsed, or ``litert-benchmark``, whose ``--result_json`` file is
read. The binary and each artifact are pushed once into ``/data/local/tmp/edgeconv/<sha256>/`` (``uploads.py``).
Thermal status (``dumpsys thermalservice``) is read before and after; a measurement that ends at "moderate" or
worse is flagged invalid. The plain ``adb`` client runs as a subprocess.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeconv.atomic import sha256_files
from edgeconv.errors import EdgeconvError, UsageError
from edgeconv.runtime.artifact_info import artifact_sha256
from edgeconv.runtime.device import int8_path
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.targets.runners import NativeRunner
from edgeconv.targets.transport import Transport, TransportError, check, copy_timeout
from edgeconv.targets.uploads import upload_once

DEVICE_ROOT = "/data/local/tmp/edgeconv"
STATUS = "edgeconv-status:"
MODERATE = 2  # Android's thermal status: 0 none, 1 light, 2 moderate (throttling), 3 severe, ...


@dataclass
class Adb:
    """The plain ``adb`` client for one device, as a :class:`~edgeconv.targets.transport.Transport`."""

    serial: str

    @property
    def label(self) -> str:
        return f"adb://{self.serial}"

    def run(self, command: str, what: str, timeout: float, stdin: bytes | None = None) -> tuple[int, str, str]:
        """Run ``command`` in the device's shell; its exit status comes back on a status line (old adbd
        versions do not pass it through), and adb merges the command's stderr into its stdout."""
        wrapped = f"{command}; echo {STATUS}$?"
        proc = self._adb(["shell", wrapped], what, timeout, stdin)
        out = proc.stdout.decode(errors="replace").replace("\r\n", "\n")
        body, _, last = out.rstrip("\n").rpartition("\n")
        if not last.startswith(STATUS):
            reason = (proc.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise TransportError(f"{what}: {self.label}: {reason}")
        return int(last.removeprefix(STATUS)), body, ""

    def put(self, local: Path, remote: str, what: str) -> None:
        proc = self._adb(["push", str(local), remote + ".part"], what, copy_timeout(local))
        if proc.returncode != 0:
            reason = (proc.stderr.decode(errors="replace").strip().splitlines() or ["push failed"])[-1]
            raise TransportError(f"{what} on {self.label} failed: {reason}")
        check(self, f"mv {shlex.quote(remote + '.part')} {shlex.quote(remote)}", what)

    def _adb(
        self, args: list[str], what: str, timeout: float, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                ["adb", "-s", self.serial, *args], input=stdin, capture_output=True, timeout=timeout, check=False
            )
        except FileNotFoundError:
            raise EdgeconvError("adb targets need the Android platform tools (the `adb` command)") from None
        except subprocess.TimeoutExpired:
            raise TransportError(f"{what}: {self.label} did not answer within {timeout:.0f} s") from None


def parse_thermal_status(dump: str) -> int | None:
    """The ``Thermal Status: N`` line of ``dumpsys thermalservice`` (AOSP's ThermalManagerService dump)."""
    found = re.search(r"^Thermal Status:\s*(\d+)", dump, re.MULTILINE)
    return int(found.group(1)) if found else None


@dataclass
class AdbTarget:
    """An Android device reached with ``adb``, measured by the native tool (:class:`NativeRunner`)."""

    serial: str
    binary: Path | None = None
    root: str = DEVICE_ROOT
    transport: Transport | None = None  # adb (:class:`Adb`) unless given
    run_timeout: float = 900.0
    capabilities: frozenset[str] = frozenset()  # LiteRT's native tool measures .tflite files, nothing more
    _info: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.binary is None and os.environ.get("EDGECONV_BENCHMARK_MODEL"):
            self.binary = Path(os.environ["EDGECONV_BENCHMARK_MODEL"])

    @property
    def name(self) -> str:
        return f"adb://{self.serial}"

    @property
    def shell(self) -> Transport:
        self.transport = self.transport or Adb(self.serial)
        return self.transport

    def _output(self, command: str) -> str:
        return self.shell.run(command, "reading the device's properties", 30)[1].strip()

    def fingerprint(self) -> dict[str, Any]:
        """Model, SoC, Android version and CPU features of the device, read once."""
        if self._info is None:
            keys = ("ro.product.model", "ro.product.manufacturer", "ro.board.platform", "ro.build.version.release")
            props = {key: self._output(f"getprop {key}") for key in keys}
            features = self._output("grep -m1 -i '^Features' /proc/cpuinfo").partition(":")[2].split()
            identity = "|".join([self.serial, *props.values()])
            self._info = {
                "hostname": self.serial,
                "machine": self._output("uname -m"),
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
        status, out, _ = self.shell.run("dumpsys thermalservice", "reading the thermal status", 30)
        return parse_thermal_status(out) if status == 0 else None

    def measure(self, path: Path, options: MeasureOptions) -> BenchResult:
        """Benchmark the .tflite ``path`` on the phone with the native tool (it and the model copied once)."""
        if path.suffix.lower() != ".tflite":
            raise UsageError(f"{self.name} measures with LiteRT's benchmark tool: .tflite files only, not {path.name}")
        NativeRunner.refuse_conditions(options, self.name)
        if self.binary is None or not self.binary.is_file():
            raise UsageError(f"{self.name} needs LiteRT's benchmark_model binary: --benchmark-model PATH")
        tool_dir = upload_once(self.shell, self.root, sha256_files(self.binary), [self.binary], self.binary.name)
        binary = f"{tool_dir}/{self.binary.name}"
        check(self.shell, f"chmod 755 {shlex.quote(binary)}", "preparing the benchmark tool")
        model_dir = upload_once(self.shell, self.root, artifact_sha256(path), [path], path.name)
        runner = NativeRunner(binary, {**self.fingerprint(), "target": self.name}, f"{self.root}/results")
        before = self.thermal_status()
        result = runner.measure(self.shell, f"{model_dir}/{path.name}", path, options, self.run_timeout)
        after = self.thermal_status()
        result.conditions = {"before": {"thermal_status": before}, "after": {"thermal_status": after}}
        if after is not None and after >= MODERATE:
            result.invalid = f"thermal status {after} (moderate or worse) at the end of the measurement"
        return result
