"""Every family builds at arbitrary widths, resolutions and class counts; bad arguments are refused."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.models import create_model, list_models, register_model
from edgeconv.models.layers import make_divisible
from edgeconv.models.registry import get_spec, parse_models, unregister_model

EDGE = [
    "mobilenetv1",
    "mobilenetv2",
    "mobilenetv3_large",
    "mobilenetv3_small",
    "mnasnet",
    "mnasnet_a1",
    *(f"efficientnet_lite{i}" for i in range(5)),
    "shufflenetv2",
    "squeezenet1_1",
]
BASELINES = [
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext50_32x4d",
    "se_resnet50",
    "vgg11_bn",
    "vgg16_bn",
    "densenet121",
    *(f"regnet{kind}_{mf}mf" for kind in "xy" for mf in (200, 400, 600, 800)),
    "googlenet",
    "inception_v3",
    "xception",
    "alexnet",
]
ANY_WIDTH_EDGE = [name for name in EDGE if name != "shufflenetv2"]


def test_registry_lists_every_family_in_its_group() -> None:
    assert list_models() == sorted(EDGE + BASELINES)
    assert list_models("edge") == sorted(EDGE)
    assert list_models("baseline") == sorted(BASELINES)


@pytest.mark.parametrize("name", EDGE + BASELINES)
def test_every_family_builds_at_half_and_full_width(name: str) -> None:
    size = get_spec(name).min_resolution
    params = []
    for width in (0.5, 1.0):
        model = create_model(name, width, num_classes=5, resolution=size)
        with torch.no_grad():
            out = model(torch.randn(1, 3, size, size))
        assert out.shape == (1, 5) and torch.isfinite(out).all()
        params.append(sum(p.numel() for p in model.parameters()))
    assert params[0] < params[1]


def test_widths_and_resolutions_each_family_refuses() -> None:
    with pytest.raises(UsageError, match="shufflenetv2 is defined at widths 0.5, 1, 1.5, 2 only, got 0.75"):
        create_model("shufflenetv2", 0.75)
    with pytest.raises(UsageError, match="resolution must be an integer >= 75 for inception_v3, got 64"):
        create_model("inception_v3", resolution=64)
    with pytest.raises(UsageError, match="resolution must be an integer >= 63 for alexnet"):
        create_model("alexnet", resolution=32)


def test_model_lists_and_groups_parse_in_order() -> None:
    assert parse_models("resnet18, mobilenetv2,resnet18") == ["resnet18", "mobilenetv2"]
    assert parse_models("edge") == sorted(EDGE)
    assert parse_models("mobilenetv2,baseline")[:2] == ["mobilenetv2", "alexnet"]
    with pytest.raises(UsageError, match="unknown model 'resnet19'; did you mean 'resnet18'"):
        parse_models("mobilenetv2,resnet19")
    with pytest.raises(UsageError, match="no model named in ' , '"):
        parse_models(" , ")


@pytest.mark.parametrize("name", ANY_WIDTH_EDGE)
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
    with pytest.raises(UsageError, match="known models: alexnet, densenet121"):
        create_model("bert")


def test_duplicate_registration_raises() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_model("mobilenetv2", 224, "again")(lambda width, num_classes: nn.Identity())
    register_model("tmp_test_model", 64, "temporary")(lambda width, num_classes: nn.Identity())
    try:
        assert "tmp_test_model" in list_models()
    finally:
        unregister_model("tmp_test_model")
