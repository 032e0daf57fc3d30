"""MnasNet (Tan et al., 2019) at any width: B1 (no squeeze-excite, as torchvision) and A1 (the paper's model).

Both use ReLU, a fixed 1280-channel head, and the same channel rounding as MobileNetV2.
"""

from __future__ import annotations

from torch import nn

from edgeconv.models.layers import Classifier, ConvBNAct, InvertedResidual, make_divisible
from edgeconv.models.published import torchvision_file
from edgeconv.models.registry import register_model

# MnasNet-B1 after the stem and its depthwise-separable block (torchvision's `mnasnet`)
B1_SETTING = [
    # t, c, n, s, k
    (3, 24, 3, 2, 3),
    (3, 40, 3, 2, 5),
    (6, 80, 3, 2, 5),
    (6, 96, 2, 1, 3),
    (6, 192, 4, 2, 5),
    (6, 320, 1, 1, 3),
]

# MnasNet-A1 after the stem and its depthwise-separable block; se: squeeze-excite ratio of the block input
A1_SETTING = [
    # t, c, n, s, k, se
    (6, 24, 2, 2, 3, 0.0),
    (3, 40, 3, 2, 5, 0.25),
    (6, 80, 4, 2, 3, 0.0),
    (6, 112, 2, 1, 3, 0.25),
    (6, 160, 3, 2, 5, 0.25),
    (6, 320, 1, 1, 3, 0.0),
]
STEM_CHANNELS = 32
FIRST_BLOCK_CHANNELS = 16
HEAD_CHANNELS = 1280

# torchvision's MNASNet*_Weights. Its mnasnet0_5 file is left out: it was saved by torchvision's first MNASNet,
# whose stem stays at 32/16 channels at every width, so it does not fit a width-0.5 network that scales them.
PUBLISHED_B1 = (
    torchvision_file("mnasnet0_75.IMAGENET1K_V1", 0.75, "mnasnet0_75-7090bc5f.pth"),
    torchvision_file("mnasnet1_0.IMAGENET1K_V1", 1.0, "mnasnet1.0_top1_73.512-f206786ef8.pth"),
    torchvision_file("mnasnet1_3.IMAGENET1K_V1", 1.3, "mnasnet1_3-a4c69d6f.pth"),
)


def _stem(width: float) -> tuple[list[nn.Module], int]:
    """3x3 stride-2 conv, then a depthwise-separable block without residual (both MnasNet variants)."""
    stem = make_divisible(STEM_CHANNELS * width)
    first = make_divisible(FIRST_BLOCK_CHANNELS * width)
    layers: list[nn.Module] = [
        ConvBNAct(3, stem, 3, stride=2, act_layer=nn.ReLU),
        InvertedResidual(stem, first, 3, 1, 1, nn.ReLU, skip=False),
    ]
    return layers, first


def _head(layers: list[nn.Module], in_channels: int, num_classes: int) -> nn.Module:
    layers.append(ConvBNAct(in_channels, HEAD_CHANNELS, 1, act_layer=nn.ReLU))
    return Classifier(nn.Sequential(*layers), HEAD_CHANNELS, num_classes, dropout=0.2)


@register_model("mnasnet", 224, "MnasNet-B1 (torchvision), no squeeze-excite", weights=PUBLISHED_B1)
def mnasnet_b1(width: float, num_classes: int) -> nn.Module:
    """MnasNet-B1: inverted residuals with 3x3/5x5 depthwise convs and no squeeze-excite."""
    layers, in_channels = _stem(width)
    for t, c, n, s, k in B1_SETTING:
        out_channels = make_divisible(c * width)
        for i in range(n):
            layers.append(InvertedResidual(in_channels, out_channels, k, s if i == 0 else 1, t, nn.ReLU))
            in_channels = out_channels
    return _head(layers, in_channels, num_classes)


@register_model("mnasnet_a1", default_resolution=224, description="MnasNet-A1 (paper), with squeeze-excite")
def mnasnet_a1(width: float, num_classes: int) -> nn.Module:
    """MnasNet-A1: the searched model of the paper, with squeeze-excite sized from each block's input."""
    layers, in_channels = _stem(width)
    for t, c, n, s, k, se in A1_SETTING:
        out_channels = make_divisible(c * width)
        for i in range(n):
            se_channels = max(1, int(in_channels * se)) if se else 0
            block = InvertedResidual(in_channels, out_channels, k, s if i == 0 else 1, t, nn.ReLU, se_channels)
            layers.append(block)
            in_channels = out_channels
    return _head(layers, in_channels, num_classes)
