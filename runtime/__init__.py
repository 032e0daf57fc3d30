"""edgeconv's device side: load an exported model, run it, measure its latency and memory.

Imports numpy and one inference runtime only (never torch, tensorflow, jax, onnx or nncf), so it installs
on a board with ``pip install 'edgeconv[onnx]'`` (or ``[litert]``, ``[openvino]``).
"""

from __future__ import annotations

from edgeconv.runtime.backends import Session, TensorSpec, load
from edgeconv.runtime.bench import BenchSettings, bench
from edgeconv.runtime.device import device_info
from edgeconv.runtime.result import BenchResult, LatencyStats

__all__ = [
    "BenchResult",
    "BenchSettings",
    "LatencyStats",
    "Session",
    "TensorSpec",
    "bench",
    "device_info",
    "load",
]
