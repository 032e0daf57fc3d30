"""Every family is the network its reference implementation defines: the published parameter count, the
reference's state dict loads through ``--weights``'s loader (by name, else by order and shape), and with the
same weights it computes the same logits.

The references are recorded by ``tests/fixtures/make_reference_models.py`` from torchvision 0.29.1 and timm
1.0.31 (``reference_models.json``, each entry naming its constructor). Published counts (1000 classes,
BatchNorm included) from torchvision's model tables, as quoted in issue 12: resnet18 11,689,512; resnet50
25,557,032; vgg16_bn 138,365,992; mobilenet_v3_large 5,483,032; mobilenet_v3_small 2,542,856; densenet121
7,978,856; regnet_x_400mf 5,495,976; regnet_y_400mf 4,344,144; resnext50_32x4d 25,028,904; squeezenet1_1
1,235,496; shufflenet_v2_x1_0 2,278,604; googlenet 6,624,904; alexnet 61,100,840. The others are the
reference code's own counts (recorded in the fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from edgeconv.models import create_model, model_info
from edgeconv.train import load_pretrained
from tests.models.seeded_weights import seeded_input, seeded_state

REFERENCES = json.loads((Path(__file__).parents[1] / "fixtures" / "reference_models.json").read_text())
PUBLISHED = {
    "resnet18@1": 11_689_512,
    "resnet50@1": 25_557_032,
    "vgg16_bn@1": 138_365_992,
    "mobilenetv3_large@1": 5_483_032,
    "mobilenetv3_small@1": 2_542_856,
    "densenet121@1": 7_978_856,
    "regnetx_400mf@1": 5_495_976,
    "regnety_400mf@1": 4_344_144,
    "resnext50_32x4d@1": 25_028_904,
    "squeezenet1_1@1": 1_235_496,
    "shufflenetv2@1": 2_278_604,
    "googlenet@1": 6_624_904,
    "alexnet@1": 61_100_840,
}


def _family_width(key: str) -> tuple[str, float]:
    family, width = key.split("@")
    return family, float(width)


@pytest.mark.parametrize("key", list(REFERENCES))
def test_parameter_count_equals_the_reference(key: str) -> None:
    family, width = _family_width(key)
    params = model_info(family, width, num_classes=1000).params
    assert params == REFERENCES[key]["params_1000_classes"]
    assert params == PUBLISHED.get(key, params)


def test_every_published_count_is_checked() -> None:
    assert set(PUBLISHED) <= set(REFERENCES)


@pytest.mark.parametrize("key", list(REFERENCES))
def test_reference_weights_load_and_give_the_reference_logits(key: str, tmp_path: Path) -> None:
    family, width = _family_width(key)
    reference = REFERENCES[key]
    weights = tmp_path / "reference.pth"
    torch.save(seeded_state(reference["layout"]), weights)
    model = create_model(family, width, num_classes=10, resolution=reference["resolution"])
    report = load_pretrained(model, weights)
    assert not report.head_reinitialised
    with torch.no_grad():
        logits = model.eval()(seeded_input(reference["resolution"]))
    expected = torch.tensor(reference["logits"])
    scale = expected.abs().max().item()
    assert scale > 1e-3  # the seeded weights give logits worth comparing
    torch.testing.assert_close(logits, expected, atol=1e-4 * scale, rtol=1e-4)
