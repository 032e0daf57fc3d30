"""Each profiled layer against its own limit: bound = max(MACs / the compute peak for its kind, bytes moved /
the bandwidth of the smallest measured working set that holds them); efficiency = bound / measured time, per
layer, per op kind and for the model (the sum of the bounds against the measured p50). The limits are the
device's, stored by ``edgeconv info --peak``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeconv.runtime.result import BenchResult

_GEMM_KINDS = {"pointwise conv", "full conv", "conv", "fully connected"}


def limits_for(peak: dict[str, Any] | None, precision: str, threads: int | None) -> dict[str, float] | None:
    """GEMM and depthwise GMAC/s and bandwidth GB/s of ``peak`` at ``threads`` for ``precision`` (fp16 computes
    in float on CPUs), or None when the peak has no bandwidth figure for that thread count."""
    if peak is None or threads is None:
        return None
    figures = peak["threads"].get(str(threads)) or {}
    if "bandwidth_gbs" not in figures:
        return None
    kind = "int8" if precision == "int8" else "fp32"
    limits = {
        "gemm_gmacs": float(figures[f"{kind}_gmacs"]),
        "depthwise_gmacs": float(figures[f"depthwise_{kind}_gmacs"]),
        "bandwidth_gbs": float(figures["bandwidth_gbs"]),
    }
    for size, gbs in (figures.get("bandwidth_gbs_by_bytes") or {}).items():
        limits[f"bandwidth_gbs_{size}"] = float(gbs)
    return limits


def _bandwidth(limits: dict[str, float], moved: int) -> float:
    """The bandwidth of the smallest measured working set that holds ``moved`` bytes (main memory's above)."""
    sizes = sorted(int(key.rsplit("_", 1)[1]) for key in limits if key.startswith("bandwidth_gbs_"))
    fitting = next((size for size in sizes if size >= moved), None)
    return limits[f"bandwidth_gbs_{fitting}"] if fitting is not None else limits["bandwidth_gbs"]


def layer_bound(layer: dict[str, Any], limits: dict[str, float]) -> tuple[float, str]:
    """The layer's roofline time in ms and what bounds it: "compute" or "memory"."""
    peak = limits["depthwise_gmacs"] if layer["kind"] == "depthwise conv" else limits["gemm_gmacs"]
    compute = layer["macs"] / (peak * 1e6) if layer["kind"] in _GEMM_KINDS | {"depthwise conv"} else 0.0
    memory = layer["bytes"] / (_bandwidth(limits, layer["bytes"]) * 1e6)
    return (compute, "compute") if compute >= memory else (memory, "memory")


def roofline(profile: dict[str, Any], limits: dict[str, float], p50_ms: float) -> dict[str, Any]:
    """Bounds and efficiencies of a stored profile (:func:`edgeconv.runtime.profile.summarise`)."""
    layers: list[dict[str, Any]] = []
    kinds: dict[str, dict[str, Any]] = {}
    for layer in profile["layers"]:
        bound, limit = layer_bound(layer, limits)
        efficiency = bound / layer["ms"] if layer["ms"] > 0 else None
        layers.append({"name": layer["name"], "bound_ms": bound, "limit": limit, "efficiency": efficiency})
        entry = kinds.setdefault(layer["kind"], {"bound_ms": 0.0, "ms": 0.0})
        entry["bound_ms"] += bound
        entry["ms"] += layer["ms"]
    for entry in kinds.values():
        entry["efficiency"] = entry["bound_ms"] / entry["ms"] if entry["ms"] > 0 else None
    total = sum(layer["bound_ms"] for layer in layers)
    timed = any(entry["ms"] > 0 for entry in kinds.values())  # LiteRT's graph alone has no op times
    losing = max(kinds.items(), key=lambda item: item[1]["ms"] - item[1]["bound_ms"])[0] if timed else None
    return {
        "limits": limits,
        "layers": layers,
        "by_kind": kinds,
        "bound_ms": total,
        "efficiency": total / p50_ms if p50_ms > 0 else None,
        "loses_most": losing,  # the kind whose measured time exceeds its bound by the most milliseconds
    }


def with_roofline(result: BenchResult, peak: dict[str, Any] | None) -> dict[str, Any] | None:
    """``result``'s profile with its roofline against ``peak`` (unchanged when the peak has no limits for
    its thread count: measured before bandwidth was, or at other thread counts)."""
    if result.profile is None:
        return None
    threads = result.backend.get("settings", {}).get("threads")
    limits = limits_for(peak, result.artifact["precision"], threads if isinstance(threads, int) else None)
    if limits is None:
        return result.profile
    return {**result.profile, "roofline": roofline(result.profile, limits, result.latency_ms.p50)}
