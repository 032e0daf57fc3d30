"""GoogLeNet (Szegedy et al., 2015) with BatchNorm, as torchvision defines it (no auxiliary classifiers,
which only serve training), at any width.

Each inception module runs four branches side by side: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 (torchvision's 3x3 where
the paper has 5x5; its pretrained weights have that shape); 3x3 max-pool -> 1x1; and concatenates them.
"""

from __future__ import annotations

import torch
from torch import nn

from edgeconv.models.layers import BasicConv2d, make_divisible
from edgeconv.models.registry import register_model

# name: (1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool projection) at width 1.0; "M": max-pool
INCEPTIONS: list[tuple[str, tuple[int, ...]] | str] = [
    ("inception3a", (64, 96, 128, 16, 32, 32)),
    ("inception3b", (128, 128, 192, 32, 96, 64)),
    "maxpool3",
    ("inception4a", (192, 96, 208, 16, 48, 64)),
    ("inception4b", (160, 112, 224, 24, 64, 64)),
    ("inception4c", (128, 128, 256, 24, 64, 64)),
    ("inception4d", (112, 144, 288, 32, 64, 64)),
    ("inception4e", (256, 160, 320, 32, 128, 128)),
    "maxpool4",
    ("inception5a", (256, 160, 320, 32, 128, 128)),
    ("inception5b", (384, 192, 384, 48, 128, 128)),
]


class Inception(nn.Module):
    """Four parallel branches, concatenated."""

    def __init__(self, in_ch: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_ch, c1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(in_ch, c3r, 1), BasicConv2d(c3r, c3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_ch, c5r, 1), BasicConv2d(c5r, c5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), BasicConv2d(in_ch, pool, 1))
        self.out_channels = c1 + c3 + c5 + pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    """7x7 stem, 1x1 and 3x3 convs, nine inception modules between max-pools, global pool, dropout, linear."""

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()

        def scaled(channels: int) -> int:
            return make_divisible(channels * width)

        self.conv1 = BasicConv2d(3, scaled(64), 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = BasicConv2d(scaled(64), scaled(64), 1)
        self.conv3 = BasicConv2d(scaled(64), scaled(192), 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        in_ch = scaled(192)
        self.order = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2"]
        for item in INCEPTIONS:
            if isinstance(item, str):  # maxpool3 (3x3) and maxpool4 (2x2), both stride 2, ceil mode
                setattr(self, item, nn.MaxPool2d(3 if item == "maxpool3" else 2, 2, ceil_mode=True))
                self.order.append(item)
                continue
            name, channels = item
            inception = Inception(in_ch, *(scaled(c) for c in channels))
            setattr(self, name, inception)
            self.order.append(name)
            in_ch = inception.out_channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(in_ch, num_classes)
        for module in self.modules():  # torchvision: truncated normal, std 0.01
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(module.weight, std=0.01, a=-2, b=2)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.order:
            x = getattr(self, name)(x)
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


@register_model("googlenet", 224, "GoogLeNet (Inception v1) with BatchNorm", group="baseline")
def googlenet(width: float, num_classes: int) -> nn.Module:
    """GoogLeNet (torchvision ``googlenet`` without auxiliary heads) with channels scaled by ``width``."""
    return GoogLeNet(width, num_classes)
