"""Inception v3 (Szegedy et al., 2016), as torchvision defines it (no auxiliary classifier, which only
serves training), at any width; 299 px native, at least 75 px.

Factorised convolutions (5x5 as two 3x3, 7x7 as 1x7 + 7x1, 3x3 split into 1x3 and 3x1 side by side) in
five kinds of inception module (A-E), with grid reductions (B, D) between the 35, 17 and 8 px stages.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from edgeconv.models.layers import BasicConv2d, make_divisible
from edgeconv.models.registry import register_model

Scale = Callable[[int], int]


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.avg_pool2d(x, 3, 1, 1)


class InceptionA(nn.Module):
    """35 px: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg-pool -> 1x1."""

    def __init__(self, in_ch: int, pool: int, s: Scale) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_ch, s(64), 1)
        self.branch5x5_1 = BasicConv2d(in_ch, s(48), 1)
        self.branch5x5_2 = BasicConv2d(s(48), s(64), 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_ch, s(64), 1)
        self.branch3x3dbl_2 = BasicConv2d(s(64), s(96), 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(s(96), s(96), 3, padding=1)
        self.branch_pool = BasicConv2d(in_ch, s(pool), 1)
        self.out_channels = s(64) + s(64) + s(96) + s(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg_pool(x))], 1)


class InceptionB(nn.Module):
    """35 -> 17 px: 3x3 stride 2 | 1x1 -> 3x3 -> 3x3 stride 2 | max-pool."""

    def __init__(self, in_ch: int, s: Scale) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_ch, s(384), 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_ch, s(64), 1)
        self.branch3x3dbl_2 = BasicConv2d(s(64), s(96), 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(s(96), s(96), 3, stride=2)
        self.out_channels = s(384) + s(96) + in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, nn.functional.max_pool2d(x, 3, 2)], 1)


class InceptionC(nn.Module):
    """17 px: 1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> (7x1 -> 1x7) x 2 | avg-pool -> 1x1."""

    def __init__(self, in_ch: int, c7: int, s: Scale) -> None:
        super().__init__()
        c7 = s(c7)
        row, col = ((1, 7), (0, 3)), ((7, 1), (3, 0))
        self.branch1x1 = BasicConv2d(in_ch, s(192), 1)
        self.branch7x7_1 = BasicConv2d(in_ch, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, row[0], padding=row[1])
        self.branch7x7_3 = BasicConv2d(c7, s(192), col[0], padding=col[1])
        self.branch7x7dbl_1 = BasicConv2d(in_ch, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, col[0], padding=col[1])
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, row[0], padding=row[1])
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, col[0], padding=col[1])
        self.branch7x7dbl_5 = BasicConv2d(c7, s(192), row[0], padding=row[1])
        self.branch_pool = BasicConv2d(in_ch, s(192), 1)
        self.out_channels = 4 * s(192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, self.branch7x7dbl_5(d), self.branch_pool(_avg_pool(x))], 1)


class InceptionD(nn.Module):
    """17 -> 8 px: 1x1 -> 3x3 stride 2 | 1x1 -> 1x7 -> 7x1 -> 3x3 stride 2 | max-pool."""

    def __init__(self, in_ch: int, s: Scale) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_ch, s(192), 1)
        self.branch3x3_2 = BasicConv2d(s(192), s(320), 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_ch, s(192), 1)
        self.branch7x7x3_2 = BasicConv2d(s(192), s(192), (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(s(192), s(192), (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(s(192), s(192), 3, stride=2)
        self.out_channels = s(320) + s(192) + in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, nn.functional.max_pool2d(x, 3, 2)], 1)


class InceptionE(nn.Module):
    """8 px: 1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | avg-pool -> 1x1."""

    def __init__(self, in_ch: int, s: Scale) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_ch, s(320), 1)
        self.branch3x3_1 = BasicConv2d(in_ch, s(384), 1)
        self.branch3x3_2a = BasicConv2d(s(384), s(384), (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(s(384), s(384), (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_ch, s(448), 1)
        self.branch3x3dbl_2 = BasicConv2d(s(448), s(384), 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(s(384), s(384), (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(s(384), s(384), (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_ch, s(192), 1)
        self.out_channels = s(320) + 4 * s(384) + s(192)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(_avg_pool(x))], 1)


class InceptionV3(nn.Module):
    """Stem of five convs and two max-pools, 3 x A, B, 4 x C, D, 2 x E, global pool, dropout, linear."""

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()

        def s(channels: int) -> int:
            return make_divisible(channels * width)

        self.Conv2d_1a_3x3 = BasicConv2d(3, s(32), 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(s(32), s(32), 3)
        self.Conv2d_2b_3x3 = BasicConv2d(s(32), s(64), 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, 2)
        self.Conv2d_3b_1x1 = BasicConv2d(s(64), s(80), 1)
        self.Conv2d_4a_3x3 = BasicConv2d(s(80), s(192), 3)
        self.maxpool2 = nn.MaxPool2d(3, 2)
        self.Mixed_5b = InceptionA(s(192), 32, s)
        self.Mixed_5c = InceptionA(self.Mixed_5b.out_channels, 64, s)
        self.Mixed_5d = InceptionA(self.Mixed_5c.out_channels, 64, s)
        self.Mixed_6a = InceptionB(self.Mixed_5d.out_channels, s)
        self.Mixed_6b = InceptionC(self.Mixed_6a.out_channels, 128, s)
        self.Mixed_6c = InceptionC(self.Mixed_6b.out_channels, 160, s)
        self.Mixed_6d = InceptionC(self.Mixed_6c.out_channels, 160, s)
        self.Mixed_6e = InceptionC(self.Mixed_6d.out_channels, 192, s)
        self.Mixed_7a = InceptionD(self.Mixed_6e.out_channels, s)
        self.Mixed_7b = InceptionE(self.Mixed_7a.out_channels, s)
        self.Mixed_7c = InceptionE(self.Mixed_7b.out_channels, s)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(self.Mixed_7c.out_channels, num_classes)
        for module in self.modules():  # torchvision: truncated normal, std 0.1
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(module.weight, std=0.1, a=-2, b=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.children():
            if module is self.avgpool:
                break
            x = module(x)
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


@register_model("inception_v3", 299, "Inception v3, factorised convolutions", group="baseline", min_resolution=75)
def inception_v3(width: float, num_classes: int) -> nn.Module:
    """Inception v3 (torchvision ``inception_v3`` without the auxiliary head) with channels scaled by ``width``."""
    return InceptionV3(width, num_classes)
