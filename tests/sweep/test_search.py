"""The width search finds what an exhaustive grid finds, with fewer measurements; the latency model fits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.models import create_model
from edgeconv.models.factory import Features, latency_features, model_info
from edgeconv.sweep.latency_model import LatencyModel, Point, nonnegative_lstsq
from edgeconv.sweep.search import CONFIRM_SAMPLES, coarse_indices, search_width
from edgeconv.sweep.space import distinct_architectures, parse_resolutions, parse_widths

RESOLUTION = 96


@pytest.fixture(scope="module")
def widths() -> list[float]:
    """MobileNetV2 widths 0.25..1.4 in steps of 0.05, reduced to distinct architectures."""
    candidates = parse_widths(None, "0.25:1.4")
    signatures = {
        w: tuple(
            m.out_channels for m in create_model("mobilenetv2", w, 10, RESOLUTION).modules() if isinstance(m, nn.Conv2d)
        )
        for w in candidates
    }
    return distinct_architectures(candidates, signatures)


@pytest.fixture(scope="module")
def features(widths: list[float]) -> dict[float, Features]:
    return {w: latency_features(create_model("mobilenetv2", w, 10, RESOLUTION), RESOLUTION) for w in widths}


def test_latency_features_count_exactly() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),  # 8 x 16 x 16 out, 27 MACs each
        nn.Conv2d(8, 8, 3, padding=1, groups=8),  # depthwise: 8 x 16 x 16 out, 9 MACs each
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),  # 10 out, 8 MACs each
    )
    found = latency_features(net, 32)
    assert round(found.mmacs * 1e6) == 2048 * 27 + 2048 * 9 + 10 * 8
    assert round(found.mparams * 1e6) == (3 * 9 * 8 + 8) + (9 * 8 + 8) + (8 * 10 + 10)
    assert round(found.mactivations * 1e6) == 2048 + 2048 + 10
    # pointwise, depthwise and other MACs; elements read and written by the depthwise layer and by the others
    kinds = (0, 2048 * 9, 2048 * 27 + 10 * 8, 2048 + 2048, (3 * 32 * 32 + 2048) + (8 + 10))
    assert tuple(round(k * 1e6) for k in found.kinds) == kinds
    info = model_info("mobilenetv2", 0.75, RESOLUTION, 10)  # agrees with the published-table counts
    found = latency_features(create_model("mobilenetv2", 0.75, 10, RESOLUTION), RESOLUTION)
    assert (round(found.mmacs * 1e6), round(found.mparams * 1e6)) == (info.macs, info.params)
    assert sum(found.kinds[:3]) == pytest.approx(found.mmacs) and found.kinds[0] > 0.8 * found.mmacs


def whole(features: Features) -> Features:
    """The whole-model features alone (a model fitted on them never tries the per-op-kind form)."""
    return Features(features.mmacs, features.mparams, features.mactivations)


def linear_latency(f: Features) -> float:
    return 0.3 + 0.01 * f.mmacs + 0.04 * f.mparams + 0.02 * f.mactivations


def staircase_latency(f: Features) -> float:
    """Monotone, not linear in MACs: a fixed overhead, a convex compute term and memory traffic."""
    return 0.4 + 0.002 * f.mmacs**1.25 + 0.05 * f.mparams + 0.01 * f.mactivations


def run_search(
    widths: list[float],
    features: dict[float, Features],
    budget: float,
    first_error: Callable[[float, float], float] = lambda latency, budget: 0.0,
) -> tuple[float | None, int]:
    """Search with a measurement whose first sample of each width is off by ``first_error`` (relative) and
    whose later samples are exact."""
    calls: dict[float, list[int]] = {}

    def measure(width: float, resolution: int, samples: int) -> float:
        calls.setdefault(width, []).append(samples)
        latency = staircase_latency(features[width])
        values = [latency * (1 + first_error(latency, budget))] + [latency] * (samples - 1)
        return float(np.median(values))

    result = search_width(widths, RESOLUTION, budget, measure, lambda w, r: features[w], LatencyModel())
    assert all(requested in ([1], [1, CONFIRM_SAMPLES]) for requested in calls.values())  # never asked again
    assert result.measurements == sum(max(requested) for requested in calls.values())
    confirmed = {w for w, requested in calls.items() if requested[-1] == CONFIRM_SAMPLES}
    wider = [w for w in widths if result.best_width is None or w > result.best_width]
    assert {w for w in [result.best_width, min(wider, default=None)] if w is not None} <= confirmed  # the answer
    return result.best_width, result.measurements


def exhaustive(widths: list[float], features: dict[float, Features], budget: float) -> float | None:
    fitting = [w for w in widths if staircase_latency(features[w]) <= budget]
    return max(fitting) if fitting else None


def test_space_has_many_distinct_widths(widths: list[float]) -> None:
    assert 15 <= len(widths) <= 24 and widths[0] == 0.25 and widths[-1] == 1.4
    signatures = {0.5: (8, 16), 0.52: (8, 16), 0.6: (8, 24)}
    assert distinct_architectures([0.6, 0.52, 0.5], signatures) == [0.5, 0.6]  # same channels: one candidate


@pytest.mark.parametrize("quantile", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_search_matches_exhaustive_grid_with_fewer_measurements(
    widths: list[float], features: dict[float, Features], quantile: float
) -> None:
    latencies = sorted(staircase_latency(features[w]) for w in widths)
    budget = float(np.quantile(latencies, quantile)) + 1e-6
    best, measurements = run_search(widths, features, budget)
    assert best == exhaustive(widths, features, budget)
    assert measurements < len(widths)  # confirmations near the budget included


@pytest.mark.parametrize("quantile", [0.3, 0.5, 0.7])
def test_search_is_not_misled_by_single_noisy_measurements_near_the_budget(
    widths: list[float], features: dict[float, Features], quantile: float
) -> None:
    latencies = sorted(staircase_latency(features[w]) for w in widths)
    budget = float(np.quantile(latencies, quantile)) + 1e-6

    def misleading(latency: float, budget: float) -> float:
        """The first measurement lands on the wrong side of the budget whenever it is within 30% of it."""
        return -0.3 if budget < latency < budget / 0.7 else 0.3 if budget / 1.3 < latency <= budget else 0.0

    best, _ = run_search(widths, features, budget, misleading)
    assert best == exhaustive(widths, features, budget)


def test_search_edges(widths: list[float], features: dict[float, Features]) -> None:
    assert run_search(widths, features, 0.1) == (None, 6)  # nothing fits: the narrowest, confirmed, says so
    assert run_search(widths, features, 1e6) == (1.4, 6)  # everything fits: the widest, confirmed


def test_coarse_grid_includes_both_ends() -> None:
    assert coarse_indices(20) == [0, 6, 13, 19]
    assert coarse_indices(3) == [0, 1, 2]


def test_latency_model_predicts_within_ten_percent(features: dict[float, Features]) -> None:
    rng = np.random.default_rng(0)
    points = [Point(w, RESOLUTION, whole(f), linear_latency(f) * rng.normal(1, 0.02)) for w, f in features.items()]
    model = LatencyModel().fit(points)
    summary = model.summary()
    assert summary["formula"] == "a + b*MMACs + c*Mparams + d*Mactivations" and summary["loo_within_10pct"] >= 0.9
    assert summary["form"] == "whole-model" and list(summary["forms"]) == ["whole-model"]  # no kinds, no second form
    assert LatencyModel().fit(points[:1]).predict(Features(10, 1, 1)) is None
    assert LatencyModel().fit(points[:5]).summary()["formula"] == "a + b*MMACs + c*Mparams"  # terms join with points


def test_parse_errors() -> None:
    with pytest.raises(UsageError, match="give --widths or --width-range, not both"):
        parse_widths("0.5", "0.25:1")
    with pytest.raises(UsageError, match="LOW < HIGH"):
        parse_widths(None, "1.0:0.5")
    with pytest.raises(UsageError, match="width must be a number in"):
        parse_widths("0.5,3", None)
    with pytest.raises(UsageError, match="resolution must be an integer >= 32"):
        parse_resolutions("224,16")
    assert parse_resolutions("160,224,192") == [224, 192, 160]


def test_latency_model_leaves_out_a_measurement_from_a_busy_spell(features: dict[float, Features]) -> None:
    rng = np.random.default_rng(1)
    truth = {w: linear_latency(f) for w, f in features.items()}
    points = [Point(w, RESOLUTION, whole(features[w]), truth[w] * rng.normal(1, 0.02)) for w in list(features)[::2]]
    busy = points[1]
    points[1] = Point(busy.width, busy.resolution, busy.features, busy.latency_ms * 3)  # 3x: a busy spell
    model = LatencyModel().fit(points)
    assert model.outliers == [points[1]] and model.summary()["outliers"][0]["width"] == busy.width
    errors = [model.predict(features[w]) / truth[w] - 1 for w in features]  # type: ignore[operator]
    assert max(abs(e) for e in errors) < 0.06
    clean = LatencyModel().fit([p for i, p in enumerate(points) if i != 1])
    assert clean.outliers == []
    assert all(model.predict(f) == pytest.approx(clean.predict(f), rel=1e-9) for f in features.values())


def test_nonnegative_lstsq_is_lstsq_when_feasible_and_drops_a_negative_term() -> None:
    x = np.random.default_rng(2).uniform(1, 10, 20)
    design = np.column_stack([np.ones(20), x, x**2])
    assert np.allclose(nonnegative_lstsq(design, 0.5 + 0.3 * x + 0.01 * x**2), [0.5, 0.3, 0.01])
    concave = 2.0 + 0.3 * x - 0.02 * x**2  # unconstrained, the x^2 term comes out negative
    assert np.linalg.lstsq(design, concave, rcond=None)[0][2] < 0
    coef = nonnegative_lstsq(design, concave)
    assert coef[2] == 0 and (coef >= 0).all()
    assert np.allclose(coef[:2], np.linalg.lstsq(design[:, :2], concave, rcond=None)[0])


def test_latency_model_coefficients_are_never_negative(features: dict[float, Features]) -> None:
    rng = np.random.default_rng(3)
    points = [Point(w, RESOLUTION, f, (0.3 + 0.012 * f.mmacs) * rng.normal(1, 0.08)) for w, f in features.items()]
    model = LatencyModel().fit(points)
    assert model.coef is not None and (model.coef >= 0).all()
    assert all(min(form["coefficients"]) >= 0 for form in model.summary()["forms"].values())  # both forms


def test_latency_model_keeps_an_ordinary_quiet_or_busy_spell_measurement(features: dict[float, Features]) -> None:
    points = [Point(w, RESOLUTION, whole(f), linear_latency(f)) for w, f in features.items()]
    narrowest = points[0]
    points[0] = Point(narrowest.width, RESOLUTION, narrowest.features, narrowest.latency_ms * 1.3)
    assert LatencyModel().fit(points).outliers == []  # 30% off: an ordinary spell here, and the anchor


def test_the_per_op_kind_form_is_used_only_where_it_predicts_better() -> None:
    """Latency that follows pointwise MACs and depthwise traffic (what a profile shows on a CPU), over two
    families and two resolutions: the whole-model form cannot follow it, the per-op-kind form can and is chosen;
    on latency that follows whole-model features the form in use is whichever leave-one-out favours."""
    configs = [(f, w, r) for f in ("mobilenetv2", "resnet18") for w in (0.35, 0.5, 0.75, 1.0) for r in (64, 96)]
    found = {c: latency_features(create_model(c[0], c[1], 10, c[2]), c[2]) for c in configs}
    rng = np.random.default_rng(4)

    def per_kind(f: Features) -> float:
        return 0.2 + 0.004 * f.kinds[0] + 0.002 * f.kinds[2] + 0.3 * f.kinds[3]

    points = [Point(w, r, found[(n, w, r)], per_kind(found[(n, w, r)]) * rng.normal(1, 0.01)) for n, w, r in configs]
    summary = LatencyModel().fit(points).summary()
    forms = summary["forms"]
    assert summary["form"] == "per-op-kind" and summary["formula"].startswith("a + k1*pointwise MMACs")
    assert forms["per-op-kind"]["loo_median_abs_error"] < 0.03 < forms["whole-model"]["loo_median_abs_error"]
    points = [Point(w, r, found[(n, w, r)], staircase_latency(found[(n, w, r)])) for n, w, r in configs]
    summary = LatencyModel().fit(points).summary()
    errors = {name: form["loo_median_abs_error"] for name, form in summary["forms"].items()}
    assert summary["loo_median_abs_error"] == min(errors.values()) and set(errors) == {"whole-model", "per-op-kind"}
    assert LatencyModel().fit(points[:7]).summary()["forms"].keys() == {"whole-model"}  # too few points for kinds
