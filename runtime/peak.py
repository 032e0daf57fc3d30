"""The device's own limit: int8 and fp32 multiply-accumulate throughput of a large GEMM, per thread count.

A 1024 x 1024 x 1024 matrix product through onnxruntime (``MatMulInteger`` on uint8 x int8, ``MatMul`` on
float32) and, where it is installed, OpenVINO (a MatMul and a 3x3 convolution with constant weights, behind
FakeQuantize for int8: :func:`edgeconv.runtime.limits.openvino_gemm_gmacs`), best of N runs; the peak is the
best runtime's: what this CPU's best kernels reach when nothing limits them but arithmetic (OpenVINO's prepacked
oneDNN kernels ran 1.3-1.4x onnxruntime's on an AMX Xeon, so an onnxruntime-only peak read 131% for ResNet-18
int8 in OpenVINO). A model's
achieved GMAC/s divided by this peak says how much of the device it uses (depthwise convolutions and small
layers reach far less than a GEMM). The two one-node ONNX models are kept as their serialised bytes
(tests/runtime/test_peak.py rebuilds them with the onnx package), so the device side needs only onnxruntime.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeconv.errors import UsageError, require
from edgeconv.runtime.device import available_cores, device_info

if TYPE_CHECKING:
    from edgeconv.runtime.result import BenchResult

GEMM_SIZE = 1024
INT8_SPEEDUP_WORTH_NOTING = 1.2  # int8 GEMMs ran 1.0x (first-generation Zen) to 9x (AMX) fp32 on the CPUs seen
# ModelProto of y = MatMulInteger(a: uint8[n, n], b: int8[n, n]) and y = MatMul(a: float[n, n], b: float[n, n]),
# opset 13, IR version 8, producer "edgeconv"
GEMM_MODELS = {
    "int8": bytes.fromhex(
        "0808120865646765636f6e763a650a180a01610a0162120179220d4d61744d756c496e7465676572120467656d6d5a150a0161"
        "12100a0e0802120a0a0312016e0a0312016e5a150a016212100a0e0803120a0a0312016e0a0312016e62150a017912100a0e08"
        "06120a0a0312016e0a0312016e42040a00100d"
    ),
    "fp32": bytes.fromhex(
        "0808120865646765636f6e763a5e0a110a01610a016212017922064d61744d756c120467656d6d5a150a016112100a0e080112"
        "0a0a0312016e0a0312016e5a150a016212100a0e0801120a0a0312016e0a0312016e62150a017912100a0e0801120a0a031201"
        "6e0a0312016e42040a00100d"
    ),
}


def default_thread_counts() -> list[int]:
    """1, 2, 4, ... up to the available cores, and the core count itself."""
    cores = available_cores()
    counts = [1]
    while counts[-1] * 2 <= cores:
        counts.append(counts[-1] * 2)
    return counts if counts[-1] == cores else [*counts, cores]


def _inputs(kind: str, size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "int8":
        return {
            "a": rng.integers(0, 256, (size, size), dtype=np.uint8),
            "b": rng.integers(-128, 128, (size, size), dtype=np.int8),
        }
    return {
        "a": rng.standard_normal((size, size), dtype=np.float32),
        "b": rng.standard_normal((size, size), dtype=np.float32),
    }


def gemm_gmacs(kind: str, threads: int, repeats: int = 20, size: int = GEMM_SIZE, max_seconds: float = 5.0) -> float:
    """Best-of-``repeats`` GMAC/s of one ``kind`` ("int8" or "fp32") GEMM of ``size``^3 on ``threads`` threads
    (fewer repeats when they would take longer than ``max_seconds``)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(GEMM_MODELS[kind], options, providers=["CPUExecutionProvider"])
    feed = _inputs(kind, size)
    session.run(None, feed)  # warm-up: packs nothing (both operands are inputs) but fills the thread pool
    best, started = float("inf"), time.perf_counter()
    for _ in range(repeats):
        begin = time.perf_counter()
        session.run(None, feed)
        best = min(best, time.perf_counter() - begin)
        if time.perf_counter() - started > max_seconds:
            break
    return size**3 / best / 1e9


def gemm_peaks(threads: int, repeats: int = 20) -> dict[str, dict[str, float]]:
    """GEMM GMAC/s per installed runtime and precision: {"onnxruntime": {"fp32": .., "int8": ..}, ...}."""
    import importlib.util

    from edgeconv.runtime.limits import openvino_gemm_gmacs

    found = {"onnxruntime": {kind: gemm_gmacs(kind, threads, repeats) for kind in ("fp32", "int8")}}
    if importlib.util.find_spec("openvino") is not None:
        found["openvino"] = {kind: openvino_gemm_gmacs(kind, threads) for kind in ("fp32", "int8")}
    return found


def _runtime_versions() -> list[str]:
    """``onnxruntime 1.x`` and, where installed, ``openvino 2025.x``: the runtimes the peaks were measured with."""
    import importlib.metadata

    found = []
    for name in ("onnxruntime", "openvino"):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def saturating_u8s8_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for uint8 ``a`` and int8 ``b`` as x86 CPUs without VNNI compute it (``vpmaddubsw``): each pair
    of neighbouring products along k is summed and saturated to int16 before the int32 accumulation."""
    a32, b32 = a.astype(np.int32), b.astype(np.int32)
    if a32.shape[1] % 2:
        a32, b32 = np.pad(a32, ((0, 0), (0, 1))), np.pad(b32, ((0, 1), (0, 0)))
    pairs = a32[:, 0::2, None] * b32[None, 0::2, :] + a32[:, 1::2, None] * b32[None, 1::2, :]
    return np.clip(pairs, -(2**15), 2**15 - 1).sum(axis=1, dtype=np.int32)


def int8_gemm_arithmetic(size: int = 64) -> str:
    """How this device's onnxruntime int8 GEMM sums full-range uint8 x int8 products: ``exact``,
    ``saturating-16bit`` (the pairs saturate, as without VNNI: full-range activations lose accuracy, the
    ``-7bit`` int8 schemes avoid it) or ``inexact`` (neither)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(GEMM_MODELS["int8"], options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 256, (size, size), dtype=np.uint8), rng.integers(-128, 128, (size, size), dtype=np.int8)
    (product,) = session.run(None, {"a": a, "b": b})
    if np.array_equal(product, a.astype(np.int32) @ b.astype(np.int32)):
        return "exact"
    return "saturating-16bit" if np.array_equal(product, saturating_u8s8_product(a, b)) else "inexact"


def peak_notes(peak: dict[str, Any]) -> list[str]:
    """What a user should know from a measured peak: int8 GEMMs that are not clearly faster than fp32 ones on
    this device, and int8 arithmetic that saturates full-range inputs."""
    notes = []
    for threads, figures in peak["threads"].items():
        ratio = figures["int8_gmacs"] / figures["fp32_gmacs"]
        if ratio < INT8_SPEEDUP_WORTH_NOTING:
            notes.append(
                f"int8 GEMMs run only {ratio:.2f}x as fast as fp32 at {threads} thread(s) on this device: int8 "
                "may not be faster here; `edgeconv sweep --precision fp32,int8` measures it per format"
            )
    if peak.get("int8_arithmetic") == "saturating-16bit":
        notes.append(
            "onnxruntime's int8 GEMM saturates full-range uint8 x int8 products in 16 bits on this CPU (no VNNI): "
            "the -7bit int8 schemes (auto picks them) keep int8 accurate here"
        )
    return notes


def measure_peak(threads: list[int] | None = None, repeats: int = 20) -> dict[str, Any]:
    """int8 and fp32 GEMM throughput of this device per thread count, its memory bandwidth and depthwise
    convolution throughput (:mod:`edgeconv.runtime.limits`), with its fingerprint and the int8 arithmetic
    (:func:`int8_gemm_arithmetic`)."""
    require("onnxruntime", "onnx", "edgeconv info --peak")
    counts = threads or default_thread_counts()
    if any(t < 1 for t in counts):
        raise UsageError("thread counts must be >= 1")

    from edgeconv.runtime.limits import DEPTHWISE_SHAPES, bandwidth_by_size, bandwidth_gbs, depthwise_peaks

    per_threads = {}
    for t in counts:
        depthwise, gemm = depthwise_peaks(t), gemm_peaks(t, repeats)
        per_threads[str(t)] = {
            "int8_gmacs": max(figures["int8"] for figures in gemm.values()),
            "fp32_gmacs": max(figures["fp32"] for figures in gemm.values()),
            "gemm_by_runtime": gemm,
            "depthwise_int8_gmacs": max(figures["int8"] for figures in depthwise.values()),
            "depthwise_fp32_gmacs": max(figures["fp32"] for figures in depthwise.values()),
            "depthwise_by_runtime": depthwise,
            "bandwidth_gbs": bandwidth_gbs(t),
            "bandwidth_gbs_by_bytes": bandwidth_by_size(t),
        }
    shapes = " and ".join(f"{channels} channels at {size} x {size}" for channels, size in DEPTHWISE_SHAPES)
    return {
        "runtime": ", ".join(_runtime_versions()),
        "gemm": f"MatMulInteger uint8 x int8 and MatMul float32, {GEMM_SIZE}^3 (onnxruntime); a {GEMM_SIZE}^3 MatMul "
        f"and a 3x3 convolution of 256 channels at 28 x 28 with constant weights, FakeQuantize-d for int8 "
        f"(OpenVINO); best of {repeats}, best runtime",
        "depthwise": f"3x3 depthwise convolution with constant weights, {shapes}, best of 10, best shape and runtime",
        "bandwidth": "numpy copy split across the threads, bytes read + written: 256 MiB best of 5 (main memory); "
        "1, 8 and 32 MiB working sets copied over and over, as much per round, best of 10 (caches)",
        "threads": per_threads,
        "int8_arithmetic": int8_gemm_arithmetic(),
        "device": device_info(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def peak_for(peak: dict[str, Any] | None, precision: str, threads: int | None) -> float | None:
    """The GMAC/s peak that applies to a model of ``precision`` run on ``threads`` threads (fp16 computes in
    float on CPUs: the fp32 peak), or None when ``peak`` has no figure for that thread count."""
    if peak is None or threads is None:
        return None
    figures = peak["threads"].get(str(threads))
    if figures is None:
        return None
    return float(figures["int8_gmacs" if precision == "int8" else "fp32_gmacs"])


def efficiency(
    macs: float | None, latency_ms: float, precision: str, threads: int | None, peak: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Achieved GMAC/s of a model of ``macs`` multiply-accumulates per inference at ``latency_ms``, and its
    fraction of the device's ``peak`` for that precision and thread count (None when unknown)."""
    if not macs or latency_ms <= 0:
        return None
    achieved = macs / (latency_ms / 1e3) / 1e9
    limit = peak_for(peak, precision, threads)
    return {
        "gmacs": achieved,
        "peak_gmacs": limit,
        "fraction_of_peak": achieved / limit if limit else None,
        "peak_kind": "int8" if precision == "int8" else "fp32",
    }


def result_efficiency(result: BenchResult, peak: dict[str, Any] | None) -> dict[str, Any] | None:
    """:func:`efficiency` of one measurement: its model's MACs at its p50, its precision and thread count."""
    threads = result.backend.get("settings", {}).get("threads")
    macs = (result.artifact.get("model") or {}).get("macs")
    count = threads if isinstance(threads, int) else None
    return efficiency(macs, result.latency_ms.p50, result.artifact["precision"], count, peak)
