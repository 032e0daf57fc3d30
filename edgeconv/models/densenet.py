"""DenseNet-121 (Huang et al., 2017), as torchvision defines it, at any width.

Every layer of a dense block adds ``growth`` channels, computed (BN-ReLU-1x1 conv to 4x growth, BN-ReLU-3x3
conv) from the concatenation of all earlier ones; transitions halve channels and resolution. ``width``
scales the growth rate and the stem. Module names follow torchvision, so its state dicts load by name.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from edgeconv.models.layers import make_divisible
from edgeconv.models.registry import register_model

BLOCKS = (6, 12, 24, 16)
GROWTH = 32
STEM_CHANNELS = 64
BOTTLENECK = 4  # the 1x1 conv's output is BOTTLENECK x growth channels


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv, BN-ReLU-3x3 conv on the concatenated inputs; returns ``growth`` new channels."""

    def __init__(self, in_ch: int, growth: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_ch)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_ch, BOTTLENECK * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(BOTTLENECK * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(BOTTLENECK * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = self.conv1(self.relu1(self.norm1(torch.cat(features, 1))))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    """``layers`` dense layers; the output is the input concatenated with every layer's new channels."""

    def __init__(self, layers: int, in_ch: int, growth: int) -> None:
        super().__init__({f"denselayer{i + 1}": DenseLayer(in_ch + i * growth, growth) for i in range(layers)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv to half the channels, then 2x2 average pool."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(in_ch),
                relu=nn.ReLU(inplace=True),
                conv=nn.Conv2d(in_ch, out_ch, 1, bias=False),
                pool=nn.AvgPool2d(2, 2),
            )
        )


class DenseNet(nn.Module):
    """7x7 stem + max-pool, four dense blocks with transitions between, BN-ReLU, global pool, linear."""

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()
        growth = make_divisible(GROWTH * width)
        channels = make_divisible(STEM_CHANNELS * width)
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv0=nn.Conv2d(3, channels, 7, 2, 3, bias=False),
            norm0=nn.BatchNorm2d(channels),
            relu0=nn.ReLU(inplace=True),
            pool0=nn.MaxPool2d(3, 2, 1),
        )
        for index, count in enumerate(BLOCKS, start=1):
            layers[f"denseblock{index}"] = DenseBlock(count, channels, growth)
            channels += count * growth
            if index < len(BLOCKS):
                layers[f"transition{index}"] = Transition(channels, channels // 2)
                channels //= 2
        layers["norm5"] = nn.BatchNorm2d(channels)
        self.features = nn.Sequential(layers)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        for module in self.modules():  # torchvision's initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.relu(self.features(x))), 1))


@register_model("densenet121", 224, "DenseNet-121, dense blocks, growth 32", group="baseline")
def densenet121(width: float, num_classes: int) -> nn.Module:
    """DenseNet-121 (torchvision ``densenet121``) with growth rate and stem scaled by ``width``."""
    return DenseNet(width, num_classes)
