"""MobileNetV3-Large and -Small (Howard et al., 2019) as torchvision defines them, at any width.

Inverted residuals with 3x3/5x5 depthwise convs, hard-swish in the later stages, squeeze-excite with a
hard-sigmoid gate sized from the expanded channels, and a head of 1x1 conv + two linear layers. BatchNorm
uses eps 0.001, as the reference does (its pretrained weights depend on it).
"""

from __future__ import annotations

import torch
from torch import nn

from edgeconv.models.layers import ActLayer, ConvBNAct, SqueezeExcite, init_weights, make_divisible
from edgeconv.models.published import torchvision_file
from edgeconv.models.registry import register_model

EPS = 0.001
RE, HS = nn.ReLU, nn.Hardswish
Setting = list[tuple[int, int, int, int, bool, ActLayer, int]]

# in, kernel, expanded, out, squeeze-excite, activation, stride (channels at width 1.0)
LARGE: Setting = [
    (16, 3, 16, 16, False, RE, 1),
    (16, 3, 64, 24, False, RE, 2),
    (24, 3, 72, 24, False, RE, 1),
    (24, 5, 72, 40, True, RE, 2),
    (40, 5, 120, 40, True, RE, 1),
    (40, 5, 120, 40, True, RE, 1),
    (40, 3, 240, 80, False, HS, 2),
    (80, 3, 200, 80, False, HS, 1),
    (80, 3, 184, 80, False, HS, 1),
    (80, 3, 184, 80, False, HS, 1),
    (80, 3, 480, 112, True, HS, 1),
    (112, 3, 672, 112, True, HS, 1),
    (112, 5, 672, 160, True, HS, 2),
    (160, 5, 960, 160, True, HS, 1),
    (160, 5, 960, 160, True, HS, 1),
]
SMALL: Setting = [
    (16, 3, 16, 16, True, RE, 2),
    (16, 3, 72, 24, False, RE, 2),
    (24, 3, 88, 24, False, RE, 1),
    (24, 5, 96, 40, True, HS, 2),
    (40, 5, 240, 40, True, HS, 1),
    (40, 5, 240, 40, True, HS, 1),
    (40, 5, 120, 48, True, HS, 1),
    (48, 5, 144, 48, True, HS, 1),
    (48, 5, 288, 96, True, HS, 2),
    (96, 5, 576, 96, True, HS, 1),
    (96, 5, 576, 96, True, HS, 1),
]
STEM_CHANNELS = 16


class Bottleneck(nn.Module):
    """1x1 expand (skipped when expanded == in) -> depthwise -> [squeeze-excite] -> 1x1 linear projection."""

    def __init__(
        self, in_ch: int, kernel: int, hidden: int, out_ch: int, se: bool, act_layer: ActLayer, stride: int
    ) -> None:
        super().__init__()
        self.use_residual = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if hidden != in_ch:
            layers.append(ConvBNAct(in_ch, hidden, 1, act_layer=act_layer, eps=EPS))
        layers.append(ConvBNAct(hidden, hidden, kernel, stride, groups=hidden, act_layer=act_layer, eps=EPS))
        if se:
            layers.append(SqueezeExcite(hidden, make_divisible(hidden // 4), gate_layer=nn.Hardsigmoid))
        layers.append(ConvBNAct(hidden, out_ch, 1, act_layer=None, eps=EPS))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_residual else self.block(x)


class MobileNetV3(nn.Module):
    """Features, global pool, then linear -> hard-swish -> dropout -> linear."""

    def __init__(self, setting: Setting, last_channels: int, width: float, num_classes: int) -> None:
        super().__init__()
        first = make_divisible(STEM_CHANNELS * width)
        layers: list[nn.Module] = [ConvBNAct(3, first, 3, stride=2, act_layer=HS, eps=EPS)]
        for in_ch, kernel, hidden, out_ch, se, act, stride in setting:
            in_c, hidden_c, out_c = (make_divisible(c * width) for c in (in_ch, hidden, out_ch))
            layers.append(Bottleneck(in_c, kernel, hidden_c, out_c, se, act, stride))
        head_in = 6 * out_c
        layers.append(ConvBNAct(out_c, head_in, 1, act_layer=HS, eps=EPS))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        hidden_head = make_divisible(last_channels * width)
        self.classifier = nn.Sequential(
            nn.Linear(head_in, hidden_head), HS(), nn.Dropout(0.2), nn.Linear(hidden_head, num_classes)
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


# published ImageNet-1k weights, best first (torchvision's MobileNet_V3_*_Weights)
PUBLISHED_LARGE = (
    torchvision_file("mobilenet_v3_large.IMAGENET1K_V2", 1.0, "mobilenet_v3_large-5c1a4163.pth"),
    torchvision_file("mobilenet_v3_large.IMAGENET1K_V1", 1.0, "mobilenet_v3_large-8738ca79.pth"),
)
PUBLISHED_SMALL = (torchvision_file("mobilenet_v3_small.IMAGENET1K_V1", 1.0, "mobilenet_v3_small-047dcff4.pth"),)


@register_model("mobilenetv3_large", 224, "MobileNetV3-Large, hard-swish, squeeze-excite", weights=PUBLISHED_LARGE)
def mobilenetv3_large(width: float, num_classes: int) -> nn.Module:
    """MobileNetV3-Large (torchvision ``mobilenet_v3_large``) with channels scaled by ``width``."""
    return MobileNetV3(LARGE, 1280, width, num_classes)


@register_model("mobilenetv3_small", 224, "MobileNetV3-Small, hard-swish, squeeze-excite", weights=PUBLISHED_SMALL)
def mobilenetv3_small(width: float, num_classes: int) -> nn.Module:
    """MobileNetV3-Small (torchvision ``mobilenet_v3_small``) with channels scaled by ``width``."""
    return MobileNetV3(SMALL, 1024, width, num_classes)
