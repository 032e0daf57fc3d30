"""MobileNetV2 (Sandler et al., 2018), as torchvision and the TF-slim reference define it, at any width."""

from __future__ import annotations

from torch import nn

from edgeconv.models.layers import Classifier, ConvBNAct, InvertedResidual, make_divisible
from edgeconv.models.published import torchvision_file
from edgeconv.models.registry import register_model

# t: expansion ratio, c: output channels (at width 1.0), n: repeats, s: stride of the first repeat
INVERTED_RESIDUAL_SETTING = [
    # t, c, n, s
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
STEM_CHANNELS = 32
LAST_CHANNELS = 1280

# published ImageNet-1k weights, best first (torchvision's MobileNet_V2_Weights)
PUBLISHED = (
    torchvision_file("mobilenet_v2.IMAGENET1K_V2", 1.0, "mobilenet_v2-7ebf99e0.pth"),
    torchvision_file("mobilenet_v2.IMAGENET1K_V1", 1.0, "mobilenet_v2-b0353104.pth"),
)


@register_model("mobilenetv2", 224, "MobileNetV2, ReLU6, 3x3 depthwise", weights=PUBLISHED)
def mobilenetv2(width: float, num_classes: int) -> nn.Module:
    """MobileNetV2 with every channel count scaled by ``width`` and rounded to a multiple of 8.

    The final 1x1 conv keeps 1280 channels for widths below 1 and scales up above 1, as in the paper.
    """
    in_channels = make_divisible(STEM_CHANNELS * width)
    layers: list[nn.Module] = [ConvBNAct(3, in_channels, 3, stride=2, act_layer=nn.ReLU6)]
    for t, c, n, s in INVERTED_RESIDUAL_SETTING:
        out_channels = make_divisible(c * width)
        for i in range(n):
            layers.append(InvertedResidual(in_channels, out_channels, 3, s if i == 0 else 1, t, nn.ReLU6))
            in_channels = out_channels
    last_channels = make_divisible(LAST_CHANNELS * max(1.0, width))
    layers.append(ConvBNAct(in_channels, last_channels, 1, act_layer=nn.ReLU6))
    return Classifier(nn.Sequential(*layers), last_channels, num_classes, dropout=0.2)
