"""A latency model fitted on measured points: latency = a + b * MMACs (+ c * M params with enough points).

Multiply-accumulates are counted exactly for each (width, resolution), so the model sees the steps that
rounding channels to multiples of 8 puts into latency; the parameter term absorbs memory traffic.
Its error is reported by leave-one-out: each measured point predicted by a fit on the others.
The fit is robust: a single measurement that landed in a busy spell of a shared machine (2-4x its latency,
seen here) is left out of the fit once its relative residual stands far outside the others'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OUTLIER_MADS = 4.0
OUTLIER_FLOOR = 0.15  # never call a point within 15% of the fit an outlier
MIN_INLIERS = 4


@dataclass(frozen=True)
class Point:
    """One measured configuration."""

    width: float
    resolution: int
    mmacs: float
    mparams: float
    latency_ms: float


def _design(points: list[Point], with_params: bool) -> np.ndarray:
    columns = [np.ones(len(points)), np.array([p.mmacs for p in points])]
    if with_params:
        columns.append(np.array([p.mparams for p in points]))
    return np.column_stack(columns)


@dataclass
class LatencyModel:
    """Least-squares fit of latency on MACs (and parameters once there are at least five points)."""

    points: list[Point] = field(default_factory=list)
    coef: np.ndarray | None = None
    outliers: list[Point] = field(default_factory=list)  # measured, but left out of the fit

    @property
    def uses_params(self) -> bool:
        return len(self.points) >= 5

    def fit(self, points: list[Point]) -> LatencyModel:
        """Least squares on ``points``, refitted without outliers: points whose relative residual exceeds
        ``OUTLIER_MADS`` robust standard deviations (and ``OUTLIER_FLOOR``), while enough points remain."""
        self.points = list(points)
        self.outliers = []
        if len(points) < 2:
            return self
        design = _design(self.points, self.uses_params)
        latency = np.array([p.latency_ms for p in points])
        keep = np.ones(len(points), dtype=bool)
        for _ in range(3):
            self.coef = np.linalg.lstsq(design[keep], latency[keep], rcond=None)[0]
            residual = design @ self.coef / latency - 1
            spread = 1.4826 * float(np.median(np.abs(residual[keep])))
            inliers = np.abs(residual) <= max(OUTLIER_MADS * spread, OUTLIER_FLOOR)
            if inliers.sum() < MIN_INLIERS or (inliers == keep).all():
                break
            keep = inliers
        self.outliers = [p for p, k in zip(points, keep, strict=True) if not k]
        return self

    def predict(self, mmacs: float, mparams: float) -> float | None:
        """Predicted latency in ms, or None before two points are measured."""
        if self.coef is None:
            return None
        features = [1.0, mmacs] + ([mparams] if self.uses_params else [])
        return float(np.dot(self.coef, features))

    def leave_one_out(self) -> list[float]:
        """Relative errors (predicted / measured - 1) of each point predicted from the others."""
        errors = []
        for i, point in enumerate(self.points):
            others = self.points[:i] + self.points[i + 1 :]
            if len(others) < 2:
                continue
            predicted = LatencyModel().fit(others).predict(point.mmacs, point.mparams)
            if predicted is not None:
                errors.append(predicted / point.latency_ms - 1)
        return errors

    def summary(self) -> dict[str, object]:
        """Coefficients and leave-one-out error statistics, for the sweep record and the report."""
        errors = np.abs(self.leave_one_out())
        return {
            "formula": "a + b*MMACs" + (" + c*Mparams" if self.uses_params else ""),
            "coefficients": [] if self.coef is None else [float(c) for c in self.coef],
            "points": len(self.points),
            "outliers": [
                {"width": p.width, "resolution": p.resolution, "latency_ms": p.latency_ms} for p in self.outliers
            ],
            "loo_median_abs_error": float(np.median(errors)) if errors.size else None,
            "loo_max_abs_error": float(errors.max()) if errors.size else None,
            "loo_within_10pct": float((errors <= 0.10).mean()) if errors.size else None,
        }
