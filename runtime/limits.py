"""The device's limits beside onnxruntime's GEMM peak: OpenVINO's GEMM and convolution throughput, memory
bandwidth and the throughput of a depthwise convolution.

A depthwise convolution does a few MACs per byte it moves and never reaches a GEMM's throughput, so a layer's
roofline bound needs its own kind's peak and the bandwidth (:mod:`edgeconv.runtime.profile.roofline`).
Bandwidth: numpy copies of a buffer far larger than any cache, split across the threads (numpy releases the
GIL while copying), best of N, counting the bytes read and written. Depthwise: a 3x3 depthwise convolution
with constant weights (128 channels at 28 x 28 and 384 at 14 x 14: in cache, so that arithmetic limits it)
through each installed runtime that can build one (onnxruntime from its ONNX bytes, timed per call; OpenVINO
from its opset, the convolution's own time from its performance counters, without the input reorder), fp32 and
int8, best of N; the device's depthwise peak is the best of them. Caches: the copy bandwidth is also measured
at working sets of 1, 8 and 32 MiB, and a layer's memory bound uses the bandwidth of the smallest working set
that holds what it moves.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from edgeconv.runtime.profile.onnx_wire import depthwise_conv_model

BANDWIDTH_BYTES = 256 * 2**20
CACHE_SIZES = (2**20, 8 * 2**20, 32 * 2**20)  # working sets (bytes read + written) for cache bandwidth
DEPTHWISE_SHAPES = ((128, 28), (384, 14))  # channels, height and width: an early and a late layer


def bandwidth_by_size(threads: int) -> dict[str, float]:
    """Copy bandwidth in GB/s per working set in bytes (read + written): the cache sizes and main memory."""
    found = {str(size): bandwidth_gbs(threads, repeats=10, size=size // 2) for size in CACHE_SIZES}
    found[str(2 * BANDWIDTH_BYTES)] = bandwidth_gbs(threads)
    return found


def bandwidth_gbs(threads: int, repeats: int = 5, size: int = BANDWIDTH_BYTES) -> float:
    """Best-of-``repeats`` bandwidth in GB/s (bytes read + written) copying ``size`` bytes on ``threads``
    threads. A working set smaller than main memory's is copied over and over in each timed round (each thread
    its own part), so that a round moves as much as a main-memory one and handing work to the threads (tens of
    microseconds) does not count as memory time: copied once, 1 MiB measured 8 GB/s on 2 threads, 38 on 1."""
    source = np.ones(size // 8, dtype=np.float64)
    target = np.empty_like(source)
    chunks = np.array_split(np.arange(source.size), threads)
    spans = [(int(c[0]), int(c[-1]) + 1) for c in chunks if c.size]
    loops = max(1, BANDWIDTH_BYTES // size)

    def copy(span: tuple[int, int]) -> None:
        for _ in range(loops):
            np.copyto(target[span[0] : span[1]], source[span[0] : span[1]])

    best = float("inf")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(copy, spans))  # touch every page once
        for _ in range(repeats):
            started = time.perf_counter()
            list(pool.map(copy, spans))
            best = min(best, time.perf_counter() - started)
    return 2 * source.nbytes * loops / best / 1e9


def _best_seconds(run: object, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def openvino_depthwise_gmacs(
    kind: str, threads: int, repeats: int = 10, shape: tuple[int, int] = DEPTHWISE_SHAPES[0]
) -> float:
    """:func:`depthwise_gmacs` through OpenVINO's CPU plugin: a GroupConvolution, behind FakeQuantize on the
    activations and weights for int8 (the pattern NNCF writes), its input and output activations in [0, 6] as
    after the ReLU6 of an inverted residual (unsigned activations ran 1.3x signed ones in oneDNN's kernel)."""
    import openvino as ov
    import openvino.opset13 as ops

    channels, size = shape
    x = ops.parameter([1, channels, size, size], np.float32, name="x")
    w = ops.constant(np.random.default_rng(0).standard_normal((channels, 1, 1, 3, 3)).astype(np.float32))

    y = ops.group_convolution(_fq(x, kind, 6.0), _fq(w, kind, 3.0), [1, 1], [1, 1], [1, 1], [1, 1])
    model = ov.Model([_fq(y, kind, 6.0)], [x])
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


def openvino_gemm_gmacs(kind: str, threads: int, repeats: int = 10, size: int = 1024) -> float:
    """Best-of-``repeats`` GMAC/s of OpenVINO's CPU plugin on arithmetic-bound work with constant weights (int8
    behind FakeQuantize, as NNCF writes it), each op's own time from the performance counters: a ``size``^3
    matrix product (its fully connected kernel) and a 3x3 convolution of 256 channels at 28 x 28 (its
    convolution kernel, which ran 1.1x the product on an AMX Xeon); the better of the two. onnxruntime's GEMM
    (:func:`edgeconv.runtime.peak.gemm_gmacs`) multiplies two inputs; a plugin that prepacks constant weights
    can run well above it (oneDNN's AMX int8 kernels do)."""
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    x = ops.parameter([size, size], np.float32, name="x")
    w = ops.constant(rng.standard_normal((size, size)).astype(np.float32))
    product = _best_ov(x, ops.matmul(_fq(x, kind, 6.0), _fq(w, kind, 3.0), False, True), threads, repeats)
    image = ops.parameter([1, 256, 28, 28], np.float32, name="x")
    kernel = ops.constant(rng.standard_normal((256, 256, 3, 3)).astype(np.float32))
    conv = ops.convolution(_fq(image, kind, 6.0), _fq(kernel, kind, 3.0), [1, 1], [1, 1], [1, 1], [1, 1])
    convolution = _best_ov(image, conv, threads, repeats)
    return max(size**3 / product, 256 * 256 * 9 * 28 * 28 / convolution) / 1e9


def _fq(node: Any, kind: str, limit: float) -> Any:
    """``node`` behind an int8 FakeQuantize for ``kind`` "int8", else as it is: weights (constants) symmetric in
    [-limit, limit] on 255 levels, activations unsigned in [0, limit] (as after a ReLU6) on 256."""
    import openvino.opset13 as ops

    if kind != "int8":
        return node
    weights = node.get_type_name() == "Constant"
    low, high = ops.constant(np.float32(-limit if weights else 0.0)), ops.constant(np.float32(limit))
    return ops.fake_quantize(node, low, high, low, high, 255 if weights else 256)


def _best_ov(parameter: Any, output: Any, threads: int, repeats: int) -> float:
    """The best own time in seconds of the compute ops (:data:`_PRODUCTS`) of a one-input model."""
    import openvino as ov

    config = {"NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
    compiled = ov.Core().compile_model(ov.Model([output], [parameter]), "CPU", {**config, "PERF_COUNT": True})
    request = compiled.create_infer_request()
    request.get_input_tensor().data[...] = np.random.default_rng(1).standard_normal(tuple(parameter.get_shape()))
    request.infer()
    best = float("inf")
    for _ in range(repeats):
        request.infer()
        own = [e.real_time.total_seconds() for e in request.get_profiling_info() if e.node_type in _PRODUCTS]
        best = min(best, sum(own) or float("inf"))
    return best


_PRODUCTS = {"FullyConnected", "MatMul", "Convolution"}


def depthwise_peaks(threads: int) -> dict[str, dict[str, float]]:
    """Depthwise GMAC/s per installed runtime and precision, the best over :data:`DEPTHWISE_SHAPES`:
    {"onnxruntime": {"fp32": .., "int8": ..}, ...}."""
    import importlib.util

    runtimes = {"onnxruntime": depthwise_gmacs}
    if importlib.util.find_spec("openvino") is not None:
        runtimes["openvino"] = openvino_depthwise_gmacs
    return {
        name: {
            kind: max(measure(kind, threads, shape=shape) for shape in DEPTHWISE_SHAPES) for kind in ("fp32", "int8")
        }
        for name, measure in runtimes.items()
    }


def depthwise_gmacs(kind: str, threads: int, repeats: int = 10, shape: tuple[int, int] = DEPTHWISE_SHAPES[0]) -> float:
    """Best-of-``repeats`` GMAC/s of one 3x3 depthwise convolution of ``shape`` (channels, size) through
    onnxruntime ("fp32" or "int8": QLinearConv on uint8 activations and int8 weights, both with constant
    weights)."""
    import onnxruntime as ort

    channels, size = shape
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(depthwise_conv_model(channels, size, kind == "int8"), options)
    rng = np.random.default_rng(0)
    image = (1, channels, size, size)
    x = rng.integers(0, 256, image, dtype=np.uint8) if kind == "int8" else rng.standard_normal(image, dtype=np.float32)
    feed = {"x": x}
    session.run(None, feed)
    return channels * size * size * 9 / _best_seconds(lambda: session.run(None, feed), repeats) / 1e9
