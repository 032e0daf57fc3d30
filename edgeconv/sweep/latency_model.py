"""A latency model fitted on measured points, in one of two forms, whichever predicts better:

- whole-model: latency = a + b * MMACs, + c * M params from five points, + d * M activations from seven.
  Multiply-accumulates are counted exactly for each (width, resolution), so the model sees the steps that
  rounding channels to multiples of 8 puts into latency; the parameter term absorbs weight traffic and the
  activation term (elements written by the convolutions) the memory-bound depthwise and elementwise work, which
  does not shrink with resolution as MACs do.
- per-op-kind (from ``KINDS_FROM`` points): latency = a + a coefficient per column of
  :data:`edgeconv.models.factory.KIND_FEATURES` (MACs of pointwise, depthwise and other layers, elements moved by
  depthwise and by other layers), the split a per-layer profile shows the time follows.

Both are fitted on every refit; the per-op-kind form is used only where its leave-one-out error (each measured
point predicted by a fit on the others) is lower, and the summary reports both.
Every coefficient is kept non-negative (a fixed overhead and costs per MAC, weight and activation cannot be
negative): an unconstrained fit on a dozen noisy points trades a negative term against a positive one and then
extrapolates badly. The fit is robust: a single measurement that landed in a busy spell of a shared machine (2-4x
its latency, seen here) is left out once its relative residual stands far outside the others'.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edgeconv.models.factory import KIND_FEATURES, Features

OUTLIER_MADS = 4.0
OUTLIER_FLOOR = 0.30  # within 30% of the fit is ordinary here: quiet and busy spells of a shared VM are ~30% apart
MIN_INLIERS = 4
PARAMS_FROM = 5  # points needed before the parameter term joins the whole-model fit
ACTIVATIONS_FROM = 7  # ... and the activation term
KINDS_FROM = 8  # points needed before the per-op-kind form is fitted at all

Columns = Callable[[Features], list[float]]


@dataclass(frozen=True)
class Point:
    """One measured configuration."""

    width: float
    resolution: int
    features: Features
    latency_ms: float


def whole_columns(terms: int) -> Columns:
    """The first ``terms`` columns of the whole-model form."""
    return lambda f: [1.0, f.mmacs, f.mparams, f.mactivations][:terms]


def kind_columns(features: Features) -> list[float]:
    return [1.0, *features.kinds]


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


def robust_fit(points: list[Point], columns: Columns) -> tuple[np.ndarray, list[Point]]:
    """Non-negative least squares on ``points``, refitted without outliers: points whose relative residual
    exceeds ``OUTLIER_MADS`` robust standard deviations (and ``OUTLIER_FLOOR``), while enough points remain.
    Returns the coefficients and the points left out."""
    design = np.array([columns(p.features) for p in points])
    latency = np.array([p.latency_ms for p in points])
    keep = np.ones(len(points), dtype=bool)
    for _ in range(3):
        coef = nonnegative_lstsq(design[keep], latency[keep])
        residual = design @ coef / latency - 1
        spread = 1.4826 * float(np.median(np.abs(residual[keep])))
        inliers = np.abs(residual) <= max(OUTLIER_MADS * spread, OUTLIER_FLOOR)
        if inliers.sum() < MIN_INLIERS or (inliers == keep).all():
            break
        keep = inliers
    else:
        coef = nonnegative_lstsq(design[keep], latency[keep])
    return coef, [p for p, k in zip(points, keep, strict=True) if not k]


def leave_one_out(points: list[Point], columns: Columns) -> list[float]:
    """Relative errors (predicted / measured - 1) of each point predicted by a fit of ``columns`` on the others."""
    errors = []
    for i, point in enumerate(points):
        others = points[:i] + points[i + 1 :]
        if len(others) >= 2:
            coef, _ = robust_fit(others, columns)
            errors.append(float(np.dot(coef, columns(point.features))) / point.latency_ms - 1)
    return errors


def error_summary(errors: list[float]) -> dict[str, float | None]:
    """Median and largest absolute leave-one-out error and the share within 10%."""
    found = np.abs(errors)
    return {
        "loo_median_abs_error": float(np.median(found)) if found.size else None,
        "loo_max_abs_error": float(found.max()) if found.size else None,
        "loo_within_10pct": float((found <= 0.10).mean()) if found.size else None,
    }


@dataclass
class LatencyModel:
    """The whole-model fit, the per-op-kind fit once there are enough points, and which of them predicts."""

    points: list[Point] = field(default_factory=list)
    coef: np.ndarray | None = None  # of the form in use
    outliers: list[Point] = field(default_factory=list)  # measured, but left out of the fit in use
    per_kind: bool = False  # the per-op-kind form is in use
    forms: dict[str, dict[str, object]] = field(default_factory=dict)  # each fitted form's formula and errors

    @property
    def terms(self) -> int:
        """Whole-model coefficients: 2, 3 from PARAMS_FROM points, 4 from ACTIVATIONS_FROM points."""
        return 2 + (len(self.points) >= PARAMS_FROM) + (len(self.points) >= ACTIVATIONS_FROM)

    def columns(self) -> Columns:
        return kind_columns if self.per_kind else whole_columns(len(self.coef) if self.coef is not None else 2)

    def fit(self, points: list[Point]) -> LatencyModel:
        """Fit both forms on ``points`` and keep the per-op-kind one only where its leave-one-out error is lower."""
        self.points, self.outliers, self.per_kind, self.forms = list(points), [], False, {}
        if len(points) < 2:
            self.coef = None
            return self
        whole = whole_columns(self.terms)
        self.coef, self.outliers = robust_fit(self.points, whole)
        self.forms["whole-model"] = {
            "formula": " + ".join(["a", "b*MMACs", "c*Mparams", "d*Mactivations"][: self.terms]),
            "coefficients": [float(c) for c in self.coef],
            **error_summary(leave_one_out(self.points, whole)),
        }
        if len(points) >= KINDS_FROM and all(p.features.kinds for p in points):
            coef, outliers = robust_fit(self.points, kind_columns)
            self.forms["per-op-kind"] = {
                "formula": " + ".join(["a", *(f"k{i}*{name}" for i, name in enumerate(KIND_FEATURES, 1))]),
                "coefficients": [float(c) for c in coef],
                **error_summary(leave_one_out(self.points, kind_columns)),
            }
            kind_error = self.forms["per-op-kind"]["loo_median_abs_error"]
            whole_error = self.forms["whole-model"]["loo_median_abs_error"]
            if isinstance(kind_error, float) and isinstance(whole_error, float) and kind_error < whole_error:
                self.coef, self.outliers, self.per_kind = coef, outliers, True
        return self

    def predict(self, features: Features) -> float | None:
        """Predicted latency in ms, or None before two points are measured."""
        if self.coef is None:
            return None
        return float(np.dot(self.coef, self.columns()(features)))

    def summary(self) -> dict[str, object]:
        """The form in use (its formula, coefficients, leave-one-out errors), every fitted form, the outliers."""
        in_use = self.forms.get("per-op-kind" if self.per_kind else "whole-model")
        base = in_use or {"formula": "a + b*MMACs", "coefficients": [], **error_summary([])}
        return {
            **base,
            "form": "per-op-kind" if self.per_kind else "whole-model",
            "forms": self.forms,
            "points": len(self.points),
            "outliers": [
                {"width": p.width, "resolution": p.resolution, "latency_ms": p.latency_ms} for p in self.outliers
            ],
        }
