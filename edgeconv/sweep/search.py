"""Find the widest candidate width whose latency meets the budget, with few measurements.

Latency grows monotonically with width, but in steps (channels round to 8) and not in proportion to MACs
at small widths. The search measures a coarse grid, fits the latency model, then bisects between the widest
measured width under budget and the narrowest over it, probing where the model predicts the crossing.

One measurement of a sub-millisecond model can be 30% off on a shared machine (a whole second spent in a
quiet or a busy spell of the neighbours), so the answer never rests on single measurements: when the
bisection has closed in on two neighbouring widths, each is measured ``CONFIRM_SAMPLES`` times and stands
for the median; if that moves either across the budget, the bisection goes on from the corrected bracket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from edgeconv.models.factory import Features
from edgeconv.sweep.latency_model import LatencyModel, Point

COARSE_POINTS = 4
CONFIRM_SAMPLES = 3

Measure = Callable[[float, int, int], float]  # (width, resolution, samples) -> latency (ms), median of samples


@dataclass
class SearchResult:
    """The outcome for one resolution."""

    resolution: int
    best_width: float | None  # None: even the narrowest candidate is over budget
    measured: dict[float, float] = field(default_factory=dict)  # width -> latency (ms) measured here
    samples: dict[float, int] = field(default_factory=dict)  # width -> measurements it stands for

    @property
    def measurements(self) -> int:
        return sum(self.samples.values())


def coarse_indices(count: int, points: int = COARSE_POINTS) -> list[int]:
    """``points`` indices spread evenly over ``count`` candidates, both ends included."""
    if count <= points:
        return list(range(count))
    return sorted({round(i * (count - 1) / (points - 1)) for i in range(points)})


def search_width(
    widths: list[float],
    resolution: int,
    budget_ms: float,
    measure: Measure,
    features: Callable[[float, int], Features],
    model: LatencyModel,
) -> SearchResult:
    """Search ``widths`` (sorted) at ``resolution``. ``measure(width, resolution, samples)`` returns the median
    latency statistic of at least ``samples`` measurements (reusing earlier ones); ``features`` returns
    a width's latency features; ``model`` is refitted on every new value (it may already hold points of other
    resolutions, which improves the first guesses)."""
    result = SearchResult(resolution, None)

    def probe(index: int, samples: int = 1) -> float:
        width = widths[index]
        if result.samples.get(width, 0) < samples:
            result.measured[width] = measure(width, resolution, samples)
            result.samples[width] = samples
            others = [p for p in model.points if (p.width, p.resolution) != (width, resolution)]
            model.fit([*others, Point(width, resolution, features(width, resolution), result.measured[width])])
        return result.measured[width]

    def bracket() -> tuple[int | None, int | None]:
        """The widest measured width under budget and the narrowest measured width above it."""
        under = [i for i, w in enumerate(widths) if w in result.measured and result.measured[w] <= budget_ms]
        lo = max(under) if under else None
        over = [i for i, w in enumerate(widths) if w in result.measured and (lo is None or i > lo)]
        return lo, min(over) if over else None

    for index in coarse_indices(len(widths)):
        probe(index)
    while True:
        lo, hi = bracket()
        if lo is not None and hi is not None and hi - lo > 1:
            probe(_guess(widths, lo, hi, resolution, budget_ms, features, model))
            continue
        unconfirmed = [i for i in (lo, hi) if i is not None and result.samples[widths[i]] < CONFIRM_SAMPLES]
        if not unconfirmed:
            break
        for index in unconfirmed:
            probe(index, CONFIRM_SAMPLES)
    result.best_width = widths[lo] if lo is not None else None
    return result


def _guess(
    widths: list[float],
    lo: int,
    hi: int,
    resolution: int,
    budget_ms: float,
    features: Callable[[float, int], Features],
    model: LatencyModel,
) -> int:
    """The index in (lo, hi) the model predicts to be the widest under budget; the midpoint without a model.
    The guess is kept away from the ends so that a wrong model still shrinks the interval by a quarter."""
    inside = range(lo + 1, hi)
    predicted = [(i, model.predict(features(widths[i], resolution))) for i in inside]
    fitting = [i for i, p in predicted if p is not None and p <= budget_ms]
    guess = max(fitting) if fitting else (lo + hi) // 2
    quarter = max(1, (hi - lo) // 4)
    return min(max(guess, lo + quarter), hi - quarter) if hi - lo > 2 else lo + 1
