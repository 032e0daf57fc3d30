"""MobileNetV1 (Howard et al., 2017): the network of the width multiplier, at any alpha.

Thirteen depthwise-separable blocks (3x3 depthwise, 1x1 pointwise, each followed by BatchNorm and ReLU6, as in
TF-slim and timm's ``mobilenetv1_100``) after a 3x3 stride-2 stem; alpha scales every channel count.
"""

from __future__ import annotations

from torch import nn

from edgeconv.models.layers import Classifier, ConvBNAct, make_divisible
from edgeconv.models.registry import register_model

# (output channels at alpha 1.0, stride) of the depthwise-separable blocks
BLOCKS = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    *[(512, 1)] * 5,
    (1024, 2),
    (1024, 1),
]
STEM_CHANNELS = 32


class DepthwiseSeparable(nn.Sequential):
    """3x3 depthwise conv-BN-ReLU6, then 1x1 pointwise conv-BN-ReLU6."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__(
            ConvBNAct(in_channels, in_channels, 3, stride, groups=in_channels, act_layer=nn.ReLU6),
            ConvBNAct(in_channels, out_channels, 1, act_layer=nn.ReLU6),
        )


@register_model("mobilenetv1", default_resolution=224, description="MobileNetV1, depthwise-separable, ReLU6")
def mobilenetv1(width: float, num_classes: int) -> nn.Module:
    """MobileNetV1 with every channel count (the classifier's input included) scaled by alpha = ``width``."""
    in_channels = make_divisible(STEM_CHANNELS * width)
    layers: list[nn.Module] = [ConvBNAct(3, in_channels, 3, stride=2, act_layer=nn.ReLU6)]
    for channels, stride in BLOCKS:
        out_channels = make_divisible(channels * width)
        layers.append(DepthwiseSeparable(in_channels, out_channels, stride))
        in_channels = out_channels
    return Classifier(nn.Sequential(*layers), in_channels, num_classes, dropout=0.0)
