"""VGG-11 and VGG-16 with BatchNorm (Simonyan & Zisserman, 2015), as torchvision defines them, at any width.

Stacks of 3x3 conv-BN-ReLU separated by 2x2 max-pools, a 7x7 average grid and three linear layers; the
first linear layer holds most of the 133-138 M parameters. ``width`` scales the convs and the hidden linear
layers.
"""

from __future__ import annotations

import torch
from torch import nn

from edgeconv.models.layers import AdaptiveAvgPool, make_divisible
from edgeconv.models.registry import register_model

# output channels of each 3x3 conv at width 1.0; "M": 2x2 stride-2 max-pool
LAYOUTS: dict[str, list[int | str]] = {
    "vgg11_bn": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16_bn": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}
GRID = 7
HIDDEN = 4096


class VGG(nn.Module):
    """Conv-BN-ReLU features, a 7x7 average grid, then linear-ReLU-dropout twice and the classifier."""

    def __init__(self, layout: list[int | str], width: float, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for item in layout:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            out_ch = make_divisible(int(item) * width)
            layers += [nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.avgpool = AdaptiveAvgPool(GRID)
        hidden = make_divisible(HIDDEN * width)
        self.classifier = nn.Sequential(
            nn.Linear(in_ch * GRID * GRID, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(hidden, num_classes),
        )
        for module in self.modules():  # torchvision's initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)  # type: ignore[arg-type]  # every conv here has a bias
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _register(name: str) -> None:
    depth = sum(isinstance(item, int) for item in LAYOUTS[name]) + 3

    @register_model(name, 224, f"VGG-{depth} with BatchNorm", group="baseline")
    def build(width: float, num_classes: int) -> nn.Module:
        return VGG(LAYOUTS[name], width, num_classes)


for _name in LAYOUTS:
    _register(_name)
