"""The search space: candidate widths (an explicit list, or a range sampled finely and reduced to the widths
that give distinct architectures) and input resolutions."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from edgeconv.errors import UsageError
from edgeconv.models.registry import check_resolution, check_width

RANGE_STEP = 0.05
T = TypeVar("T")


def parse_widths(widths: str | None, width_range: str | None) -> list[float]:
    """Sorted candidate widths from ``--widths 0.35,0.5`` or ``--width-range 0.25:1.4`` (step 0.05)."""
    if widths and width_range:
        raise UsageError("give --widths or --width-range, not both")
    if width_range:
        lo_text, sep, hi_text = width_range.partition(":")
        try:
            lo, hi = float(lo_text), float(hi_text)
        except ValueError:
            raise UsageError(f"--width-range takes LOW:HIGH, e.g. 0.25:1.4, got {width_range!r}") from None
        if not sep or not lo < hi:
            raise UsageError(f"--width-range takes LOW:HIGH with LOW < HIGH, got {width_range!r}")
        check_width(lo), check_width(hi)
        steps = math.floor((hi - lo) / RANGE_STEP + 1e-9)
        values = [round(lo + i * RANGE_STEP, 4) for i in range(steps + 1)]
        return sorted(set(values) | {hi})
    values = _comma_list(widths or "0.35,0.5,0.75,1.0,1.4", float, "--widths", "numbers")
    return sorted({check_width(w) for w in values})


def parse_resolutions(text: str) -> list[int]:
    """Resolutions from ``224,192,160``, largest first."""
    values = _comma_list(text, int, "--resolutions", "integers")
    return sorted({check_resolution(r) for r in values}, reverse=True)


def _comma_list(text: str, kind: Callable[[str], T], option: str, what: str) -> list[T]:
    try:
        values = [kind(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise UsageError(f"{option} takes comma-separated {what}, got {text!r}") from None
    if not values:
        raise UsageError(f"{option} is empty")
    return values


def distinct_architectures(widths: list[float], signature: dict[float, tuple[int, ...]]) -> list[float]:
    """Keep the narrowest width of each group that builds the same channel counts (rounding to 8 makes
    neighbouring widths identical networks)."""
    seen: set[tuple[int, ...]] = set()
    kept = []
    for width in sorted(widths):
        if signature[width] not in seen:
            seen.add(signature[width])
            kept.append(width)
    return kept
