"""Device fingerprint: what could explain a latency number (CPU, cores, OS, governor, clocks, heat).

Reads only what the platform exposes without privileges; anything unreadable is recorded as None.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

# CPU features that decide which int8/fp32 kernels a runtime can use
_INTERESTING_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_int8",
    "amx_bf16",
    "asimd",
    "asimddp",
    "i8mm",
    "sve",
    "bf16",
)


# oneDNN's ISA names (ONEDNN_MAX_CPU_ISA caps what oneDNN-based runtimes such as OpenVINO use) and the x86
# features each leaves usable
_X86 = {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16"}
_AVX512 = {"avx2", "avx512f"}
_BF16 = _AVX512 | {"avx512_vnni", "avx_vnni", "avx512_bf16"}
_ONEDNN_ISAS = {
    "SSE41": set(),
    "AVX": set(),
    "AVX2": {"avx2"},
    "AVX2_VNNI": {"avx2", "avx_vnni"},
    "AVX2_VNNI_2": {"avx2", "avx_vnni"},
    "AVX512_CORE": _AVX512,
    "AVX512_CORE_VNNI": _AVX512 | {"avx512_vnni", "avx_vnni"},
    "AVX512_CORE_BF16": _BF16,
    "AVX512_CORE_FP16": _BF16,
    "AVX10_1_512": _BF16,
    "AVX512_CORE_AMX": _X86,
    "AVX10_1_512_AMX": _X86,
    "AVX10_1_512_AMX_FP16": _X86,
    "ALL": _X86,
}


def isa_cap() -> str | None:
    """``ONEDNN_MAX_CPU_ISA`` when it names a oneDNN ISA (set to reproduce an older CPU's kernels), else None."""
    value = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    return value if value in _ONEDNN_ISAS and value != "ALL" else None


def usable_flags(flags: set[str]) -> set[str]:
    """The CPU features runtimes may use: all of ``flags``, less the x86 ones above the ``ONEDNN_MAX_CPU_ISA``
    cap (OpenVINO detects bf16 and VNNI units itself, then fails or saturates when oneDNN may not use them)."""
    cap = isa_cap()
    if cap is None:
        return set(flags)
    return {flag for flag in flags if flag not in _X86 or flag in _ONEDNN_ISAS[cap]}


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace").strip("\x00\n ")
    except OSError:
        return None


def _cpuinfo() -> dict[str, str]:
    """First processor's fields of /proc/cpuinfo (Linux), plus the board-level fields some ARM kernels add."""
    text = _read("/proc/cpuinfo") or ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def _cpu_model(info: dict[str, str]) -> str:
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        if info.get(key):
            return info[key]
    if info.get("CPU part"):  # arm64 kernels give only the implementer/part numbers
        return f"ARM implementer {info.get('CPU implementer', '?')} part {info['CPU part']}"
    return platform.processor() or platform.machine()


def _os_name() -> str:
    text = _read("/etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return f"{platform.system()} {platform.release()}"


def _temperature_c() -> float | None:
    zones = sorted(Path("/sys/class/thermal").glob("thermal_zone*/temp"))
    values = [int(t) / 1000 for zone in zones if (t := _read(str(zone))) and t.lstrip("-").isdigit()]
    return round(max(values), 1) if values else None


def _khz_to_mhz(value: str | None) -> float | None:
    return round(int(value) / 1000, 1) if value and value.isdigit() else None


def _throttled() -> str | None:
    """Raspberry Pi firmware throttle flags (``vcgencmd get_throttled``); None elsewhere."""
    if not shutil.which("vcgencmd"):
        return None
    try:
        out = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().partition("=")[2] or None


def conditions() -> dict[str, Any]:
    """What may change while a device measures: clock, governor, temperature, Raspberry Pi throttle flags."""
    cpufreq = "/sys/devices/system/cpu/cpu0/cpufreq"
    return {
        "governor": _read(f"{cpufreq}/scaling_governor"),
        "cur_freq_mhz": _khz_to_mhz(_read(f"{cpufreq}/scaling_cur_freq")),
        "max_freq_mhz": _khz_to_mhz(_read(f"{cpufreq}/scaling_max_freq")),
        "temperature_c": _temperature_c(),
        "throttled": _throttled(),
    }


# vcgencmd get_throttled: bits 0-3 hold now (under-voltage, frequency capped, throttled, soft temperature
# limit); bits 16-19 the same since boot
_THROTTLE_NOW = 0xF
_THROTTLE_SINCE_BOOT = 0xF0000


def invalid_reason(before: dict[str, Any], after: dict[str, Any], max_temp_c: float | None = None) -> str | None:
    """Why a measurement taken between ``before`` and ``after`` cannot be trusted, or None."""
    flags = [int(c["throttled"], 16) if c.get("throttled") else 0 for c in (before, after)]
    if any(f & _THROTTLE_NOW for f in flags):
        return f"throttled or frequency-capped (vcgencmd get_throttled {before['throttled']} -> {after['throttled']})"
    if (flags[0] ^ flags[1]) & _THROTTLE_SINCE_BOOT:
        return f"throttled during the measurement (get_throttled {before['throttled']} -> {after['throttled']})"
    temperatures = [c["temperature_c"] for c in (before, after) if c.get("temperature_c") is not None]
    if max_temp_c is not None and temperatures and max(temperatures) > max_temp_c:
        return f"{max(temperatures):.1f} C, above --max-temp {max_temp_c:g} C"
    return None


def int8_path(info: dict[str, Any]) -> str:
    """The int8 dot-product instructions this CPU offers, which decide how fast (and, on x86 without VNNI,
    how exactly: u8 x s8 pairs saturate at 16 bits) int8 kernels run: ``avx512-vnni``, ``avx-vnni``,
    ``amx``, ``avx2`` (no VNNI), ``neon-i8mm``, ``neon-dotprod``, ``neon``, else ``generic``."""
    flags = set(info.get("cpu_flags") or [])
    for flag, path in (
        ("amx_int8", "amx"),
        ("avx512_vnni", "avx512-vnni"),
        ("avx_vnni", "avx-vnni"),
        ("avx2", "avx2"),
        ("i8mm", "neon-i8mm"),
        ("asimddp", "neon-dotprod"),
        ("asimd", "neon"),
    ):
        if flag in flags:
            return path
    machine = str(info.get("machine") or "")
    return "neon" if machine in ("aarch64", "arm64") else "generic"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), the sensible default thread count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def device_info() -> dict[str, Any]:
    """The fingerprint of this machine. ``device_id`` hashes the fields that identify the hardware."""
    cpu = _cpuinfo()
    flags = set((cpu.get("flags") or cpu.get("Features") or "").split())
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "machine": platform.machine(),
        "board": _read("/proc/device-tree/model"),
        "cpu_model": _cpu_model(cpu),
        "cpu_flags": sorted(usable_flags(flags.intersection(_INTERESTING_FLAGS))),
        "cores_logical": os.cpu_count(),
        "cores_available": available_cores(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        **conditions(),
    }
    identity = "|".join(str(info[k]) for k in ("hostname", "machine", "board", "cpu_model", "cores_logical"))
    info["device_id"] = hashlib.sha256(identity.encode()).hexdigest()[:12]
    info["int8_path"] = int8_path(info)
    if isa_cap():
        info["onednn_max_cpu_isa"] = isa_cap()  # cpu_flags and int8_path are what that cap leaves
        # kernels that read CPUID themselves (onnxruntime's MLAS, XNNPACK) are not capped
        info["cpuid_int8_path"] = int8_path({**info, "cpu_flags": sorted(flags.intersection(_INTERESTING_FLAGS))})
    return info


def kernel_int8_path(info: dict[str, Any]) -> str:
    """The int8 path onnxruntime's and XNNPACK's kernels take on the device ``info`` describes: its CPU's own,
    which ``ONEDNN_MAX_CPU_ISA`` does not cap (it caps oneDNN, hence OpenVINO, only)."""
    return str(info.get("cpuid_int8_path") or info.get("int8_path") or int8_path(info))
