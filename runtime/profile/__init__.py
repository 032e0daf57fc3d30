"""Where the milliseconds go: per-op times from each runtime's own profiler, mapped back to the artifact's
graph (what was fused into what), with each op's kind, MACs and bytes moved.

The profiled runs are separate from the timed ones (profiling slows a runtime down); the summary says how much
of the measured p50 the profiled ops account for, and how much slower a profiled run was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeconv.errors import UsageError
from edgeconv.runtime.formats import format_for
from edgeconv.runtime.profile.layers import by_kind


def check_profilable(path: Path) -> str:
    """The format name of ``path`` if this device can profile it, else one :class:`UsageError` line."""
    name = format_for(path).name
    if name == "tflite":
        raise UsageError(
            f"LiteRT's Python interpreter has no op profiler: profile {path.name} with LiteRT's native tool on an "
            "adb:// target (--benchmark-model PATH to benchmark_model)"
        )
    return name


def profile_artifact(path: Path, threads: int | None, runs: int, **options: Any) -> dict[str, Any]:
    """Profile ``path`` for ``runs`` inferences with its format's runtime profiler (``options``: the
    backend's settings, as for :func:`edgeconv.runtime.backends.load`)."""
    name = check_profilable(path)
    options = {key: value for key, value in options.items() if value is not None}
    if name == "onnx":
        from edgeconv.runtime.profile.onnx_ops import profile_onnx

        return profile_onnx(path, threads, runs, **options)
    from edgeconv.runtime.profile.openvino_ops import profile_openvino

    return profile_openvino(path, threads, runs, **options)


def summarise(profile: dict[str, Any], p50_ms: float | None, runs: int) -> dict[str, Any]:
    """The stored form of a profile: layers as dicts, the per-kind breakdown, the profiled sum and its ratio
    to the measured p50, and how much slower the profiled runs were than the timed ones."""
    layers = profile["layers"]
    total = sum(layer.ms for layer in layers)
    run_ms = profile.get("profiled_run_ms")
    return {
        "profiler": profile["profiler"],
        "runs": runs,
        "layers": [layer.to_dict() for layer in layers],
        "fused": profile["fused"],
        "by_kind": by_kind(layers),
        "profiled_ms": total,
        "macs": sum(layer.macs for layer in layers),
        "p50_ms": p50_ms,
        "coverage": total / p50_ms if p50_ms else None,
        "profiled_run_ms": run_ms,
        "overhead": run_ms / p50_ms if run_ms and p50_ms else None,
    }
