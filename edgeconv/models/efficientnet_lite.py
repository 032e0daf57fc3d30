"""EfficientNet-lite0..4 (Google's edge variant of EfficientNet) at any width.

Lite drops squeeze-excite and swish for ReLU6 and keeps the 32-channel stem and the 1280-channel head fixed
when scaling, so that the models quantize well. Each variant scales width and depth from the lite0 table;
``width`` multiplies the variant's own channel multiplier.
"""

from __future__ import annotations

import math

from torch import nn

from edgeconv.models.layers import Classifier, ConvBNAct, InvertedResidual, make_divisible
from edgeconv.models.published import timm_file
from edgeconv.models.registry import register_model

BLOCK_SETTING = [
    # t, c, n, s, k
    (1, 16, 1, 1, 3),
    (6, 24, 2, 2, 3),
    (6, 40, 2, 2, 5),
    (6, 80, 3, 2, 3),
    (6, 112, 3, 1, 5),
    (6, 192, 4, 2, 5),
    (6, 320, 1, 1, 3),
]
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280

# name: (channel multiplier, depth multiplier, resolution, dropout), as published
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224, 0.2),
    "efficientnet_lite1": (1.0, 1.1, 240, 0.2),
    "efficientnet_lite2": (1.1, 1.2, 260, 0.3),
    "efficientnet_lite3": (1.2, 1.4, 280, 0.3),
    "efficientnet_lite4": (1.4, 1.8, 300, 0.3),
}

# timm's ImageNet-1k ports of Google's TF checkpoints (tf_efficientnet_liteN.in1k), one per variant at width 1
PUBLISHED = {
    "efficientnet_lite0": timm_file("tf_efficientnet_lite0.in1k", 1.0, "tf_efficientnet_lite0-0aa007d2.pth"),
    "efficientnet_lite1": timm_file("tf_efficientnet_lite1.in1k", 1.0, "tf_efficientnet_lite1-bde8b488.pth"),
    "efficientnet_lite2": timm_file("tf_efficientnet_lite2.in1k", 1.0, "tf_efficientnet_lite2-dcccb7df.pth"),
    "efficientnet_lite3": timm_file("tf_efficientnet_lite3.in1k", 1.0, "tf_efficientnet_lite3-b733e338.pth"),
    "efficientnet_lite4": timm_file("tf_efficientnet_lite4.in1k", 1.0, "tf_efficientnet_lite4-741542c3.pth"),
}


def efficientnet_lite(width: float, depth_multiplier: float, num_classes: int, dropout: float) -> nn.Module:
    """EfficientNet-lite with channels scaled by ``width`` and inner stages repeated ceil(n * depth) times."""
    layers: list[nn.Module] = [ConvBNAct(3, STEM_CHANNELS, 3, stride=2, act_layer=nn.ReLU6)]
    in_channels = STEM_CHANNELS
    last_stage = len(BLOCK_SETTING) - 1
    for stage, (t, c, n, s, k) in enumerate(BLOCK_SETTING):
        out_channels = make_divisible(c * width)
        repeats = n if stage in (0, last_stage) else math.ceil(n * depth_multiplier)
        for i in range(repeats):
            layers.append(InvertedResidual(in_channels, out_channels, k, s if i == 0 else 1, t, nn.ReLU6))
            in_channels = out_channels
    layers.append(ConvBNAct(in_channels, HEAD_CHANNELS, 1, act_layer=nn.ReLU6))
    return Classifier(nn.Sequential(*layers), HEAD_CHANNELS, num_classes, dropout)


def _register(name: str) -> None:
    channel_mult, depth_mult, resolution, dropout = VARIANTS[name]

    @register_model(name, resolution, f"EfficientNet-lite, {resolution}px native", weights=(PUBLISHED[name],))
    def build(width: float, num_classes: int) -> nn.Module:
        return efficientnet_lite(width * channel_mult, depth_mult, num_classes, dropout)


for _name in VARIANTS:
    _register(_name)
