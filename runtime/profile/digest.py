"""A stored profile (with its roofline, when the device's limits are known) reduced to what tables and reports
show: each op kind's time, share, work and efficiency, the model's roofline, and the slowest layers with their
bound. Used by ``bench --profile``, sweep candidates and ``edgeconv report``."""

from __future__ import annotations

from typing import Any

SLOWEST = 10


def rate(amount: float, ms: float, scale: float = 1e6) -> float | None:
    """``amount`` per ``ms`` in units of ``scale`` per second (MACs -> GMAC/s, bytes -> GB/s), None if untimed."""
    return amount / ms / scale if amount and ms > 0 else None


def digest(profile: dict[str, Any], slowest: int = SLOWEST) -> dict[str, Any]:
    """The kinds, the roofline and the ``slowest`` layers of a stored profile
    (:func:`edgeconv.runtime.profile.summarise`, with ``roofline`` from :func:`~.roofline.with_roofline`)."""
    roof = profile.get("roofline") or {}
    kinds = {}
    for kind, entry in profile["by_kind"].items():
        efficiency = (roof.get("by_kind", {}).get(kind) or {}).get("efficiency")
        kinds[kind] = {
            **entry,
            "gmacs": rate(entry["macs"], entry["ms"]),
            "gbs": rate(entry["bytes"], entry["ms"]),
            "efficiency": efficiency,
        }
    bounds = {layer["name"]: layer for layer in roof.get("layers", [])}
    layers = []
    for layer in sorted(profile["layers"], key=lambda item: -item["ms"])[:slowest]:
        bound = bounds.get(layer["name"], {})
        layers.append(
            {
                **{key: layer[key] for key in ("name", "op_type", "kind", "ms", "macs", "bytes")},
                "fused": len(layer["fused"]),
                "gmacs": rate(layer["macs"], layer["ms"]),
                "gbs": rate(layer["bytes"], layer["ms"]),
                "limit": bound.get("limit"),
                "bound_ms": bound.get("bound_ms"),
                "efficiency": bound.get("efficiency"),
            }
        )
    return {
        **{key: profile.get(key) for key in ("profiler", "runs", "profiled_ms", "p50_ms", "coverage", "overhead")},
        "by_kind": kinds,
        "roofline": {key: roof[key] for key in ("bound_ms", "efficiency", "loses_most")} if roof else None,
        "slowest": layers,
    }


def is_digest(profile: dict[str, Any]) -> bool:
    return "slowest" in profile


def as_digest(profile: dict[str, Any]) -> dict[str, Any]:
    """``profile`` as a digest, whether it is one already (a sweep candidate's) or a full stored profile."""
    return profile if is_digest(profile) else digest(profile)


def kind_share(profile: dict[str, Any], kind: str) -> float:
    """The share of the profiled time spent in ``kind`` (0 when the model has none)."""
    return float((as_digest(profile)["by_kind"].get(kind) or {}).get("share", 0.0))
