"""The device's limits beside its GEMM peak: memory bandwidth and the throughput of a depthwise convolution.

A depthwise convolution does a few MACs per byte it moves and never reaches a GEMM's throughput, so a layer's
roofline bound needs its own kind's peak and the bandwidth (:mod:`edgeconv.runtime.profile.roofline`).
Bandwidth: numpy copies of a buffer far larger than any cache, split across the threads (numpy releases the
GIL while copying), best of N, counting the bytes read and written. Depthwise: one 3x3 depthwise convolution
(128 channels, 28 x 28: in cache, so that arithmetic limits it) through each installed runtime that can build
one (onnxruntime from its ONNX bytes, timed per call; OpenVINO from its opset, the convolution's own time from
its performance counters, without the input reorder), fp32 and int8, best of N; the device's depthwise peak is
the best of them. Caches: the copy bandwidth is also measured at working sets of 1, 8 and 32 MiB, and a layer's
memory bound uses the bandwidth of the smallest working set that holds what it moves.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from edgeconv.runtime.profile.onnx_wire import depthwise_conv_model

BANDWIDTH_BYTES = 256 * 2**20
CACHE_SIZES = (2**20, 8 * 2**20, 32 * 2**20)  # working sets (bytes read + written) for cache bandwidth
DEPTHWISE_SHAPE = (128, 28)  # channels, height and width


def bandwidth_by_size(threads: int) -> dict[str, float]:
    """Copy bandwidth in GB/s per working set in bytes (read + written): the cache sizes and main memory."""
    found = {str(size): bandwidth_gbs(threads, repeats=50, size=size // 2) for size in CACHE_SIZES}
    found[str(2 * BANDWIDTH_BYTES)] = bandwidth_gbs(threads)
    return found


def bandwidth_gbs(threads: int, repeats: int = 5, size: int = BANDWIDTH_BYTES) -> float:
    """Best-of-``repeats`` bandwidth in GB/s (bytes read + written) copying ``size`` bytes on ``threads``
    threads."""
    source = np.ones(size // 8, dtype=np.float64)
    target = np.empty_like(source)
    chunks = np.array_split(np.arange(source.size), threads)
    spans = [(int(c[0]), int(c[-1]) + 1) for c in chunks if c.size]

    def copy(span: tuple[int, int]) -> None:
        np.copyto(target[span[0] : span[1]], source[span[0] : span[1]])

    best = float("inf")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(copy, spans))  # touch every page once
        for _ in range(repeats):
            started = time.perf_counter()
            list(pool.map(copy, spans))
            best = min(best, time.perf_counter() - started)
    return 2 * source.nbytes / best / 1e9


def _best_seconds(run: object, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def openvino_depthwise_gmacs(kind: str, threads: int, repeats: int = 10) -> float:
    """:func:`depthwise_gmacs` through OpenVINO's CPU plugin: a GroupConvolution, behind FakeQuantize on the
    activations and weights for int8 (the pattern NNCF writes)."""
    import openvino as ov
    import openvino.opset13 as ops

    channels, size = DEPTHWISE_SHAPE
    x = ops.parameter([1, channels, size, size], np.float32, name="x")
    w = ops.constant(np.random.default_rng(0).standard_normal((channels, 1, 1, 3, 3)).astype(np.float32))

    def fq(node: object, limit: float, levels: int) -> object:
        low, high = ops.constant(np.float32(-limit)), ops.constant(np.float32(limit))
        return ops.fake_quantize(node, low, high, low, high, levels)

    data = fq(x, 4.0, 256) if kind == "int8" else x
    weights = fq(w, 3.0, 255) if kind == "int8" else w
    y = ops.group_convolution(data, weights, [1, 1], [1, 1], [1, 1], [1, 1])
    model = ov.Model([fq(y, 8.0, 256) if kind == "int8" else y], [x])
    config = {
        "NUM_STREAMS": "1",
        "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": "f32",
        "PERF_COUNT": True,
    }
    request = ov.Core().compile_model(model, "CPU", config).create_infer_request()
    request.get_input_tensor().data[...] = np.random.default_rng(1).standard_normal((1, channels, size, size))
    request.infer()
    best = float("inf")
    for _ in range(repeats):  # the convolution's own time, as the plugin counts it: no input reorder, no call
        request.infer()
        own = [e.real_time.total_seconds() for e in request.get_profiling_info() if e.node_type == "GroupConvolution"]
        best = min(best, sum(own) or float("inf"))
    return channels * size * size * 9 / best / 1e9


def depthwise_peaks(threads: int) -> dict[str, dict[str, float]]:
    """Depthwise GMAC/s per installed runtime and precision: {"onnxruntime": {"fp32": .., "int8": ..}, ...}."""
    import importlib.util

    found = {"onnxruntime": {kind: depthwise_gmacs(kind, threads) for kind in ("fp32", "int8")}}
    if importlib.util.find_spec("openvino") is not None:
        found["openvino"] = {kind: openvino_depthwise_gmacs(kind, threads) for kind in ("fp32", "int8")}
    return found


def depthwise_gmacs(kind: str, threads: int, repeats: int = 10) -> float:
    """Best-of-``repeats`` GMAC/s of one large 3x3 depthwise convolution through onnxruntime ("fp32" or
    "int8": QLinearConv on uint8 activations and int8 weights)."""
    import onnxruntime as ort

    channels, size = DEPTHWISE_SHAPE
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(depthwise_conv_model(channels, size, kind == "int8"), options)
    rng = np.random.default_rng(0)
    image, weights = (1, channels, size, size), (channels, 1, 3, 3)
    if kind == "int8":
        feed = {
            "x": rng.integers(0, 256, image, dtype=np.uint8),
            "x_scale": np.array(0.02, np.float32),
            "x_zero": np.array(128, np.uint8),
            "w": rng.integers(-127, 128, weights, dtype=np.int8),
            "w_scale": np.array(0.01, np.float32),
            "w_zero": np.array(0, np.int8),
            "y_scale": np.array(0.05, np.float32),
            "y_zero": np.array(128, np.uint8),
        }
    else:
        feed = {"x": rng.standard_normal(image, dtype=np.float32), "w": rng.standard_normal(weights, dtype=np.float32)}
    session.run(None, feed)
    return channels * size * size * 9 / _best_seconds(lambda: session.run(None, feed), repeats) / 1e9
