"""Planning a sweep across lanes (families, formats, precisions): each lane's settings, the baseline, the
pairs a format cannot make, and bad options as one line. Running lanes: test_sweep_logic.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeconv.errors import UsageError
from edgeconv.plan import plan_exports
from edgeconv.sweep import SweepConfig, plan_sweep
from edgeconv.sweep.config import default_baseline


def _config(**changes: object) -> SweepConfig:
    defaults = {"model": "x", "budget_ms": 5.0, "widths": [0.35, 0.5, 0.75, 1.0], "resolutions": [64]}
    return SweepConfig(**{**defaults, **changes})  # type: ignore[arg-type]


def test_lane_config_and_baseline() -> None:
    assert default_baseline(["mobilenetv2", "vgg11_bn", "resnet18"]) == "vgg11_bn"
    assert default_baseline(["mobilenetv2", "mnasnet"]) is None
    shufflenet, resnet = plan_sweep(_config(model="shufflenetv2,resnet18")).lanes
    assert shufflenet.config.widths == [0.5, 1.0]  # its published widths in range
    assert resnet.config.widths == [0.35, 0.5, 0.75, 1.0]
    assert plan_sweep(_config(model="shufflenetv2,resnet18")).baseline == "resnet18"
    with pytest.raises(UsageError, match="inception_v3 needs inputs of at least 75 px; --resolutions has 64"):
        plan_sweep(_config(model="mobilenetv2,inception_v3"))
    with pytest.raises(UsageError, match="--baseline vgg16_bn is not one of the swept models"):
        plan_sweep(_config(model="mobilenetv2,resnet18"), "vgg16_bn")
    with pytest.raises(UsageError, match="a --weights file holds one family's weights"):
        plan_sweep(_config(model="mobilenetv2,resnet18", weights="w.pt"))


def test_pretrained_weights_per_family() -> None:
    lanes = plan_sweep(_config(model="mobilenetv2,mnasnet,efficientnet_lite0", weights="imagenet")).lanes
    assert [lane.config.weights for lane in lanes] == ["imagenet"] * 3
    assert len(plan_sweep(_config(model="mobilenetv2,resnet18", weights="mobilenetv2=a.pt,resnet18=b.pt")).lanes) == 2
    with pytest.raises(UsageError, match="--weights names no source for resnet18: add resnet18=SOURCE"):
        plan_sweep(_config(model="mobilenetv2,resnet18", weights="mobilenetv2=a.pt"))
    with pytest.raises(UsageError, match="mobilenetv2 width 1.4 is wider than its widest published weights"):
        plan_sweep(_config(model="mobilenetv2", weights="imagenet", widths=[0.5, 1.4]))
    with pytest.raises(UsageError, match="vgg11_bn has no published pretrained weights"):
        plan_sweep(_config(model="mobilenetv2,vgg11_bn", weights="imagenet"))


def test_lanes_are_every_pair_a_format_makes() -> None:
    plan = plan_sweep(_config(model="mobilenetv2", format="onnx,tflite", precision="fp16,int8"))
    assert [(lane.format, lane.precision) for lane in plan.lanes] == [
        ("onnx", "int8"),
        ("tflite", "fp16"),
        ("tflite", "int8"),
    ]
    assert plan.notes == ["onnx does not produce fp16; skipped"]
    assert plan.lanes[0].path(families_vary=False, runtimes_vary=True) == Path("onnx-int8")
    assert plan.lanes[0].path(families_vary=True, runtimes_vary=True) == Path("mobilenetv2/onnx-int8")
    with pytest.raises(UsageError, match="none of the formats onnx, tflite produces fp64|unknown"):
        plan_exports(["onnx", "tflite"], ["fp64"])
    with pytest.raises(UsageError, match="onnx"):
        plan_sweep(_config(model="mobilenetv2", format="onnx", precision="fp16"))  # why that one pair cannot be


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "mobilenetv2,resnet19"], "unknown model 'resnet19'; did you mean 'resnet18'?"),
        (["--model", "mobilenetv2,resnet18", "--baseline", "vgg16_bn"], "--baseline vgg16_bn is not one of"),
        (["--model", "mobilenetv2", "--baseline", "mobilenetv2"], "--baseline marks one of several models"),
        (["--model", "edge,inception_v3", "--resolutions", "64"], "inception_v3 needs inputs of at least 75 px"),
    ],
)
def test_bad_family_options_are_one_line(cli, args: list[str], message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("sweep", *args, "--budget-ms", "5", "--out", tmp_path / "out")
    assert result.code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out").exists()
