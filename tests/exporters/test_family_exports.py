"""Every model architecture exports within the parity tolerance (fp32): the edge families to every format
and to int8 as well, the classic baselines to ONNX; small (width 0.25, the family's smallest input)
random-weight models with estimated BatchNorm statistics.

One family per architecture: the families left out differ from a tested one only in their stage tables
(resnet34/50 from resnet18 and se_resnet50, vgg16_bn from vgg11_bn, the other RegNets from regnety_200mf,
mobilenetv3_large from mobilenetv3_small, efficientnet_lite1-4 from lite0). Every family is exported at 224 px
to TFLite and OpenVINO, fp32 and int8, by ``benchmarks/families.py``, so the baselines' TFLite and OpenVINO
conversions (the slowest in the suite: 30 of its 54 conversions) are left to the benchmark, and ONNX, which it
does not cover, is here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from edgeconv.exporters import export
from edgeconv.models import create_model
from edgeconv.models.factory import estimate_batchnorm_statistics
from edgeconv.models.registry import get_spec

EDGE_FAMILIES = ["mobilenetv1", "mobilenetv3_small", "shufflenetv2", "squeezenet1_1"]
BASELINE_FAMILIES = [
    "resnet18",
    "resnext50_32x4d",
    "se_resnet50",
    "vgg11_bn",
    "densenet121",
    "regnety_200mf",
    "googlenet",
    "inception_v3",
    "xception",
    "alexnet",
]
FORMATS = ["onnx", "tflite", "openvino"]
FP32_CASES = [(name, fmt) for name in EDGE_FAMILIES for fmt in FORMATS] + [(n, "onnx") for n in BASELINE_FAMILIES]


def small_model(name: str) -> tuple[torch.nn.Module, int]:
    spec = get_spec(name)
    width = min(spec.widths) if spec.widths else 0.25
    torch.manual_seed(0)
    model = create_model(name, width, num_classes=10, resolution=spec.min_resolution)
    return estimate_batchnorm_statistics(model, spec.min_resolution), spec.min_resolution


@pytest.fixture(scope="module")
def digits_calibration() -> Any:
    from edgeconv.data import load_data
    from edgeconv.exporters.calibration import CalibrationSet

    return CalibrationSet.from_splits(load_data("digits", 32), 64)


@pytest.mark.parametrize(("name", "fmt"), FP32_CASES)
def test_fp32_export_matches_pytorch(name: str, fmt: str, tmp_path: Path) -> None:
    model, resolution = small_model(name)
    artifact = export(model, fmt, "fp32", None, tmp_path, weights={"source": "random-init"})
    parity = artifact.parity
    assert parity["max_abs_diff"] <= 1e-4 * max(1.0, parity["max_abs_logit"])  # tighter than the export's own check
    assert parity["max_abs_logit"] > 1e-3  # the BatchNorm statistics give logits worth comparing
    assert artifact.model["model"] == name and artifact.model["resolution"] == resolution


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", EDGE_FAMILIES)
def test_edge_family_int8_export(name: str, fmt: str, tmp_path: Path, digits_calibration: Any) -> None:
    model, _ = small_model(name)
    artifact = export(model, fmt, "int8", digits_calibration, tmp_path, weights={"source": "random-init"})
    assert "int8" in artifact.quantization["weights"]
    assert artifact.parity["inputs"].startswith("real images")
    path = Path(artifact.path)
    weights = path.with_suffix(".bin") if fmt == "openvino" else path  # the IR's XML is graph, not weights
    assert weights.stat().st_size < 0.6 * 4 * artifact.model["params"] + 100_000  # int8 weights, not fp32
