"""Find the widest candidate width whose latency meets the budget, with few measurements.

Latency grows monotonically with width, but in steps (channels round to 8) and not in proportion to MACs
at small widths. The search measures a coarse grid, fits the latency model, then bisects between the widest
measured width under budget and the narrowest over it, probing where the model predicts the crossing.

One measurement of a sub-millisecond model moves by 10-20% on a shared machine, which decides the wrong side
of the budget when the latency is close to it. A probe that lands within ``CONFIRM_MARGIN`` of the budget is
therefore measured ``CONFIRM_SAMPLES`` times and stands for the median; probes far from the budget are not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from edgeconv.sweep.latency_model import LatencyModel, Point

COARSE_POINTS = 4
CONFIRM_MARGIN = 0.2  # relative distance to the budget within which one measurement is not trusted
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


def near_budget(latency_ms: float, budget_ms: float) -> bool:
    """Whether a single measurement is too close to the budget to decide which side it is on."""
    return abs(latency_ms / budget_ms - 1) <= CONFIRM_MARGIN


def search_width(
    widths: list[float],
    resolution: int,
    budget_ms: float,
    measure: Measure,
    features: Callable[[float, int], tuple[float, float]],
    model: LatencyModel,
) -> SearchResult:
    """Search ``widths`` (sorted) at ``resolution``. ``measure(width, resolution, samples)`` returns the median
    latency statistic of at least ``samples`` measurements (reusing earlier ones); ``features`` returns
    (MMACs, M params); ``model`` is refitted on every new value (it may already hold points of other
    resolutions, which improves the first guesses)."""
    result = SearchResult(resolution, None)

    def probe(index: int) -> float:
        width = widths[index]
        if width not in result.measured:
            _record(width, 1)
        if near_budget(result.measured[width], budget_ms) and result.samples[width] < CONFIRM_SAMPLES:
            _record(width, CONFIRM_SAMPLES)
        return result.measured[width]

    def _record(width: float, samples: int) -> None:
        result.measured[width] = measure(width, resolution, samples)
        result.samples[width] = samples
        mmacs, mparams = features(width, resolution)
        others = [p for p in model.points if (p.width, p.resolution) != (width, resolution)]
        model.fit([*others, Point(width, resolution, mmacs, mparams, result.measured[width])])

    for index in coarse_indices(len(widths)):
        probe(index)
    under = [i for i in range(len(widths)) if widths[i] in result.measured and result.measured[widths[i]] <= budget_ms]
    if not under:
        return result
    lo = max(under)
    over = [i for i in range(lo + 1, len(widths)) if widths[i] in result.measured]
    hi = min(over) if over else None
    while hi is not None and hi - lo > 1:
        guess = _guess(widths, lo, hi, resolution, budget_ms, features, model)
        if probe(guess) <= budget_ms:
            lo = guess
        else:
            hi = guess
    result.best_width = widths[lo]
    return result


def _guess(
    widths: list[float],
    lo: int,
    hi: int,
    resolution: int,
    budget_ms: float,
    features: Callable[[float, int], tuple[float, float]],
    model: LatencyModel,
) -> int:
    """The index in (lo, hi) the model predicts to be the widest under budget; the midpoint without a model.
    The guess is kept away from the ends so that a wrong model still shrinks the interval by a quarter."""
    inside = range(lo + 1, hi)
    predicted = [(i, model.predict(*features(widths[i], resolution))) for i in inside]
    fitting = [i for i, p in predicted if p is not None and p <= budget_ms]
    guess = max(fitting) if fitting else (lo + hi) // 2
    quarter = max(1, (hi - lo) // 4)
    return min(max(guess, lo + quarter), hi - quarter) if hi - lo > 2 else lo + 1
