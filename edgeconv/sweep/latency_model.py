"""A latency model fitted on measured points: latency = a + b * MMACs, + c * M params from five points,
+ d * M activations from seven.

Multiply-accumulates are counted exactly for each (width, resolution), so the model sees the steps that
rounding channels to multiples of 8 puts into latency; the parameter term absorbs weight traffic and the
activation term (elements written by the convolutions) the memory-bound depthwise and elementwise work,
which does not shrink with resolution as MACs do.
Every coefficient is kept non-negative (a fixed overhead and costs per MAC, weight and activation cannot be
negative): an unconstrained fit on a dozen noisy points trades a negative term against a positive one and
then extrapolates badly. Its error is reported by leave-one-out: each measured point predicted by a fit on the others.
The fit is robust: a single measurement that landed in a busy spell of a shared machine (2-4x its latency,
seen here) is left out of the fit once its relative residual stands far outside the others'.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

OUTLIER_MADS = 4.0
OUTLIER_FLOOR = 0.30  # within 30% of the fit is ordinary here: quiet and busy spells of a shared VM are ~30% apart
MIN_INLIERS = 4
PARAMS_FROM = 5  # points needed before the parameter term joins the fit
ACTIVATIONS_FROM = 7  # ... and the activation term


Features = tuple[float, float, float]  # (MMACs, M params, M activations) of one (width, resolution)


@dataclass(frozen=True)
class Point:
    """One measured configuration."""

    width: float
    resolution: int
    mmacs: float
    mparams: float
    mactivations: float
    latency_ms: float


def _row(mmacs: float, mparams: float, mactivations: float, terms: int) -> list[float]:
    return [1.0, mmacs, mparams, mactivations][:terms]


def _design(points: list[Point], terms: int) -> np.ndarray:
    return np.array([_row(p.mmacs, p.mparams, p.mactivations, terms) for p in points])


def nonnegative_lstsq(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least squares with every coefficient >= 0. Exact for the few columns here: the optimum is the
    unconstrained fit on some subset of columns, so every subset is tried and the best feasible one kept."""
    columns = design.shape[1]
    best, best_error = np.zeros(columns), float(np.sum(target**2))
    for size in range(1, columns + 1):
        for subset in itertools.combinations(range(columns), size):
            coef = np.linalg.lstsq(design[:, subset], target, rcond=None)[0]
            if (coef < 0).any():
                continue
            error = float(np.sum((design[:, subset] @ coef - target) ** 2))
            if error < best_error:
                best, best_error = np.zeros(columns), error
                best[list(subset)] = coef
    return best


@dataclass
class LatencyModel:
    """Robust non-negative least squares of latency on MACs, parameters and activations (terms join as points
    grow)."""

    points: list[Point] = field(default_factory=list)
    coef: np.ndarray | None = None
    outliers: list[Point] = field(default_factory=list)  # measured, but left out of the fit

    @property
    def terms(self) -> int:
        """Coefficients fitted: 2, 3 from PARAMS_FROM points, 4 from ACTIVATIONS_FROM points."""
        return 2 + (len(self.points) >= PARAMS_FROM) + (len(self.points) >= ACTIVATIONS_FROM)

    def fit(self, points: list[Point]) -> LatencyModel:
        """Non-negative least squares on ``points``, refitted without outliers: points whose relative residual exceeds
        ``OUTLIER_MADS`` robust standard deviations (and ``OUTLIER_FLOOR``), while enough points remain."""
        self.points = list(points)
        self.outliers = []
        if len(points) < 2:
            return self
        design = _design(self.points, self.terms)
        latency = np.array([p.latency_ms for p in points])
        keep = np.ones(len(points), dtype=bool)
        for _ in range(3):
            self.coef = nonnegative_lstsq(design[keep], latency[keep])
            residual = design @ self.coef / latency - 1
            spread = 1.4826 * float(np.median(np.abs(residual[keep])))
            inliers = np.abs(residual) <= max(OUTLIER_MADS * spread, OUTLIER_FLOOR)
            if inliers.sum() < MIN_INLIERS or (inliers == keep).all():
                break
            keep = inliers
        else:
            self.coef = nonnegative_lstsq(design[keep], latency[keep])
        self.outliers = [p for p, k in zip(points, keep, strict=True) if not k]
        return self

    def predict(self, mmacs: float, mparams: float, mactivations: float) -> float | None:
        """Predicted latency in ms, or None before two points are measured."""
        if self.coef is None:
            return None
        return float(np.dot(self.coef, _row(mmacs, mparams, mactivations, len(self.coef))))

    def leave_one_out(self) -> list[float]:
        """Relative errors (predicted / measured - 1) of each point predicted from the others."""
        errors = []
        for i, point in enumerate(self.points):
            others = self.points[:i] + self.points[i + 1 :]
            if len(others) < 2:
                continue
            predicted = LatencyModel().fit(others).predict(point.mmacs, point.mparams, point.mactivations)
            if predicted is not None:
                errors.append(predicted / point.latency_ms - 1)
        return errors

    def summary(self) -> dict[str, object]:
        """Coefficients and leave-one-out error statistics, for the sweep record and the report."""
        errors = np.abs(self.leave_one_out())
        return {
            "formula": " + ".join(["a", "b*MMACs", "c*Mparams", "d*Mactivations"][: self.terms]),
            "coefficients": [] if self.coef is None else [float(c) for c in self.coef],
            "points": len(self.points),
            "outliers": [
                {"width": p.width, "resolution": p.resolution, "latency_ms": p.latency_ms} for p in self.outliers
            ],
            "loo_median_abs_error": float(np.median(errors)) if errors.size else None,
            "loo_max_abs_error": float(errors.max()) if errors.size else None,
            "loo_within_10pct": float((errors <= 0.10).mean()) if errors.size else None,
        }
