"""ShuffleNetV2 (Ma et al., 2018) at its four published widths, as torchvision defines it.

Each unit splits its channels in half (stride 1: one half passes through) or processes the input twice
(stride 2), concatenates the two branches and shuffles the channels between them.
"""

from __future__ import annotations

import torch
from torch import nn

from edgeconv.models.layers import init_weights
from edgeconv.models.published import torchvision_file
from edgeconv.models.registry import register_model

REPEATS = (4, 8, 4)
# width: output channels of the stem, the three stages and the last 1x1 conv (the paper's Table 5)
CHANNELS = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` groups: (g, c/g) -> (c/g, g)."""
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width).transpose(1, 2).contiguous()
    return x.view(batch, channels, height, width)


def _conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True) -> list:
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    return [*layers, nn.ReLU(inplace=True)] if relu else layers


class ShuffleUnit(nn.Module):
    """A ShuffleNetV2 unit (torchvision's ``InvertedResidual``)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = out_ch // 2
        self.branch1 = nn.Sequential()
        if stride > 1:
            self.branch1 = nn.Sequential(
                *_conv_bn(in_ch, in_ch, 3, stride, groups=in_ch, relu=False), *_conv_bn(in_ch, half, 1)
            )
        self.branch2 = nn.Sequential(
            *_conv_bn(in_ch if stride > 1 else half, half, 1),
            *_conv_bn(half, half, 3, stride, groups=half, relu=False),
            *_conv_bn(half, half, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            kept, processed = x.chunk(2, dim=1)
            out = torch.cat((kept, self.branch2(processed)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """Stem conv + max-pool, three stages of shuffle units, 1x1 conv, global pool, linear."""

    def __init__(self, channels: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        stem, *stage_channels, last = channels
        self.conv1 = nn.Sequential(*_conv_bn(3, stem, 3, stride=2))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_ch = stem
        stages = []
        for repeats, out_ch in zip(REPEATS, stage_channels, strict=True):
            stages.append(
                nn.Sequential(
                    ShuffleUnit(in_ch, out_ch, 2), *(ShuffleUnit(out_ch, out_ch, 1) for _ in range(repeats - 1))
                )
            )
            in_ch = out_ch
        self.stage2, self.stage3, self.stage4 = stages
        self.conv5 = nn.Sequential(*_conv_bn(in_ch, last, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(last, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


# torchvision's ShuffleNet_V2_X*_Weights, one per defined width
PUBLISHED = (
    torchvision_file("shufflenet_v2_x0_5.IMAGENET1K_V1", 0.5, "shufflenetv2_x0.5-f707e7126e.pth"),
    torchvision_file("shufflenet_v2_x1_0.IMAGENET1K_V1", 1.0, "shufflenetv2_x1-5666bf0f80.pth"),
    torchvision_file("shufflenet_v2_x1_5.IMAGENET1K_V1", 1.5, "shufflenetv2_x1_5-3c479a10.pth"),
    torchvision_file("shufflenet_v2_x2_0.IMAGENET1K_V1", 2.0, "shufflenetv2_x2_0-8be3c8ee.pth"),
)


@register_model(
    "shufflenetv2", 224, "ShuffleNetV2, channel split and shuffle", widths=tuple(CHANNELS), weights=PUBLISHED
)
def shufflenetv2(width: float, num_classes: int) -> nn.Module:
    """ShuffleNetV2 at one of the paper's widths 0.5, 1.0, 1.5, 2.0 (torchvision ``shufflenet_v2_x1_0`` ...)."""
    return ShuffleNetV2(CHANNELS[width], num_classes)
