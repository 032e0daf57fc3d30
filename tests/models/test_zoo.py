"""Every family builds at arbitrary widths, resolutions and class counts; bad arguments are refused."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.models import create_model, list_models, register_model
from edgeconv.models.layers import make_divisible
from edgeconv.models.registry import unregister_model

FAMILIES = ["mobilenetv2", "mnasnet", "mnasnet_a1", *(f"efficientnet_lite{i}" for i in range(5))]


def test_registry_lists_every_family() -> None:
    assert list_models() == sorted(FAMILIES)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize(("width", "resolution"), [(0.1, 32), (0.6, 48), (1.3, 64)])
def test_forward_at_any_width_and_resolution(name: str, width: float, resolution: int) -> None:
    model = create_model(name, width, num_classes=7, resolution=resolution)
    with torch.no_grad():
        out = model(torch.randn(2, 3, resolution, resolution))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()
    assert model.edgeconv_config == {"model": name, "width": width, "resolution": resolution, "num_classes": 7}


def test_default_resolution_is_the_family_native() -> None:
    assert create_model("efficientnet_lite3").edgeconv_config["resolution"] == 280
    assert create_model("mobilenetv2").edgeconv_config["resolution"] == 224


def test_width_changes_channels_monotonically() -> None:
    params = [sum(p.numel() for p in create_model("mobilenetv2", w, 10).parameters()) for w in (0.3, 0.7, 1.1, 2.0)]
    assert params == sorted(params) and len(set(params)) == 4


def test_channels_round_to_multiples_of_8_never_below_90_percent() -> None:
    for value in [3.0, 11.2, 16.8, 22.0, 44.8, 100.0, 1280.0, 37.0]:
        rounded = make_divisible(value)
        assert rounded % 8 == 0 and rounded >= 0.9 * value and rounded >= 8
    assert make_divisible(11.2) == 16  # 32 * 0.35: 8 would lose 29%
    convs = [m for m in create_model("mobilenetv2", 0.37, 10).modules() if isinstance(m, nn.Conv2d)]
    assert all(c.out_channels % 8 == 0 for c in convs[:-1])


@pytest.mark.parametrize("width", [0, -0.5, 2.01, math.nan, math.inf, "abc"])
def test_bad_widths_raise_value_error(width: object) -> None:
    with pytest.raises(ValueError, match="width must be a number in"):
        create_model("mobilenetv2", width)  # type: ignore[arg-type]


def test_bad_resolution_and_classes_raise() -> None:
    with pytest.raises(ValueError, match="resolution must be an integer >= 32"):
        create_model("mobilenetv2", resolution=31)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        create_model("mobilenetv2", num_classes=1)


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UsageError, match="unknown model 'mobilenet_v2'; did you mean 'mobilenetv2'"):
        create_model("mobilenet_v2")
    with pytest.raises(UsageError, match="known models: efficientnet_lite0"):
        create_model("resnet50")


def test_duplicate_registration_raises() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_model("mobilenetv2", 224, "again")(lambda width, num_classes: nn.Identity())
    register_model("tmp_test_model", 64, "temporary")(lambda width, num_classes: nn.Identity())
    try:
        assert "tmp_test_model" in list_models()
    finally:
        unregister_model("tmp_test_model")
