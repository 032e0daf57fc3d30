"""AlexNet (Krizhevsky et al., 2012; the one-GPU variant of Krizhevsky 2014), as torchvision defines it,
at any width: five convs with large early kernels, a 6x6 average grid and three linear layers."""

from __future__ import annotations

import torch
from torch import nn

from edgeconv.models.layers import AdaptiveAvgPool, make_divisible
from edgeconv.models.registry import register_model

# (output channels at width 1.0, kernel, stride, padding, max-pool after)
CONVS = [
    (64, 11, 4, 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
    (256, 3, 1, 1, True),
]
GRID = 6
HIDDEN = 4096


class AlexNet(nn.Module):
    """Conv-ReLU features with three 3x3 stride-2 max-pools, a 6x6 grid, dropout-linear-ReLU twice, linear."""

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for channels, kernel, stride, padding, pool in CONVS:
            out_ch = make_divisible(channels * width)
            layers += [nn.Conv2d(in_ch, out_ch, kernel, stride, padding), nn.ReLU(inplace=True)]
            if pool:
                layers.append(nn.MaxPool2d(3, 2))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.avgpool = AdaptiveAvgPool(GRID)
        hidden = make_divisible(HIDDEN * width)
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            nn.Linear(in_ch * GRID * GRID, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@register_model("alexnet", 224, "AlexNet, 11x11 stem, no BatchNorm", group="baseline", min_resolution=63)
def alexnet(width: float, num_classes: int) -> nn.Module:
    """AlexNet (torchvision ``alexnet``) with channels and hidden linear layers scaled by ``width``."""
    return AlexNet(width, num_classes)
