"""Xception (Chollet, 2017), as timm's ``legacy_xception`` defines it (the port of the Keras model), at any
width; 299 px native.

Depthwise-separable convs in residual blocks: an entry flow that reduces resolution four times, a middle
flow of eight identical 728-channel blocks, and an exit flow to 2048 channels.
"""

from __future__ import annotations

import torch
from torch import nn

from edgeconv.models.layers import init_weights, make_divisible
from edgeconv.models.registry import register_model

# (in, out, separable convs, stride, start with ReLU, grow channels in the first conv) at width 1.0
BLOCKS = [
    (64, 128, 2, 2, False, True),
    (128, 256, 2, 2, True, True),
    (256, 728, 2, 2, True, True),
    *[(728, 728, 3, 1, True, True)] * 8,
    (728, 1024, 2, 2, True, False),
]


class SeparableConv2d(nn.Module):
    """3x3 depthwise conv then 1x1 pointwise conv, no bias, no activation between."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, 1, 1, groups=in_ch, bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.conv1(x))


class Block(nn.Module):
    """(ReLU -> separable conv -> BN) x reps, [3x3 stride-2 max-pool], plus a (1x1 conv-BN) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, reps: int, stride: int, start_with_relu: bool, grow_first: bool):
        super().__init__()
        self.skip = self.skipbn = None
        if in_ch != out_ch or stride != 1:
            self.skip = nn.Conv2d(in_ch, out_ch, 1, stride, bias=False)
            self.skipbn = nn.BatchNorm2d(out_ch)
        layers: list[nn.Module] = []
        for i in range(reps):
            if grow_first:
                conv_in, conv_out = (in_ch if i == 0 else out_ch), out_ch
            else:
                conv_in, conv_out = in_ch, (in_ch if i < reps - 1 else out_ch)
            layers += [nn.ReLU(inplace=bool(i)), SeparableConv2d(conv_in, conv_out), nn.BatchNorm2d(conv_out)]
        if not start_with_relu:
            layers = layers[1:]
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.rep = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.skip is None or self.skipbn is None else self.skipbn(self.skip(x))
        return self.rep(x) + shortcut


class Xception(nn.Module):
    """Two plain 3x3 convs, twelve blocks, two separable convs to 2048 channels, global pool, linear."""

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()

        def s(channels: int) -> int:
            return make_divisible(channels * width)

        self.conv1 = nn.Conv2d(3, s(32), 3, 2, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(s(32))
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(s(32), s(64), 3, bias=False)
        self.bn2 = nn.BatchNorm2d(s(64))
        self.act2 = nn.ReLU(inplace=True)
        self.blocks = nn.Sequential(*(Block(s(i), s(o), r, st, sr, g) for i, o, r, st, sr, g in BLOCKS))
        self.conv3 = SeparableConv2d(s(1024), s(1536))
        self.bn3 = nn.BatchNorm2d(s(1536))
        self.act3 = nn.ReLU(inplace=True)
        self.conv4 = SeparableConv2d(s(1536), s(2048))
        self.bn4 = nn.BatchNorm2d(s(2048))
        self.act4 = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(s(2048), num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))
        x = self.act3(self.bn3(self.conv3(self.blocks(x))))
        x = self.act4(self.bn4(self.conv4(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


@register_model("xception", 299, "Xception, separable convs in residual blocks", group="baseline")
def xception(width: float, num_classes: int) -> nn.Module:
    """Xception (timm ``legacy_xception``) with channels scaled by ``width``."""
    return Xception(width, num_classes)
