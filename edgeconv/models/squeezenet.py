"""SqueezeNet 1.1 (Iandola et al., 2016; the 1.1 revision of the reference repository), as torchvision
defines it, at any width.

Fire modules (1x1 squeeze, then parallel 1x1 and 3x3 expands, concatenated), no BatchNorm, and a 1x1 conv
classifier that is averaged over the image, so there is no linear layer at all.
"""

from __future__ import annotations

import torch
from torch import nn

from edgeconv.models.layers import make_divisible
from edgeconv.models.registry import register_model

# (squeeze, expand 1x1, expand 3x3) channels at width 1.0; "M": 3x3 stride-2 max-pool (ceil mode)
FIRES: list[tuple[int, int, int] | str] = [
    "M",
    (16, 64, 64),
    (16, 64, 64),
    "M",
    (32, 128, 128),
    (32, 128, 128),
    "M",
    (48, 192, 192),
    (48, 192, 192),
    (64, 256, 256),
    (64, 256, 256),
]
STEM_CHANNELS = 64


class Fire(nn.Module):
    """1x1 squeeze -> ReLU -> (1x1 expand, 3x3 expand) -> ReLU each -> concatenate."""

    def __init__(self, in_ch: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_ch, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)
        self.out_channels = expand1x1 + expand3x3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1
        )


class SqueezeNet(nn.Module):
    """Features, then dropout -> 1x1 conv to the classes -> ReLU -> global average."""

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()
        in_ch = make_divisible(STEM_CHANNELS * width)
        layers: list[nn.Module] = [nn.Conv2d(3, in_ch, 3, stride=2), nn.ReLU(inplace=True)]
        for fire in FIRES:
            if isinstance(fire, str):  # "M"
                layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
                continue
            fire_module = Fire(in_ch, *(make_divisible(c * width) for c in fire))
            layers.append(fire_module)
            in_ch = fire_module.out_channels
        self.features = nn.Sequential(*layers)
        final_conv = nn.Conv2d(in_ch, num_classes, 1)
        self.classifier = nn.Sequential(nn.Dropout(0.5), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1))
        for module in self.modules():  # torchvision: Kaiming-uniform convs, a small normal classifier
            if isinstance(module, nn.Conv2d):
                if module is final_conv:
                    nn.init.normal_(module.weight, 0, 0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                nn.init.zeros_(module.bias)  # type: ignore[arg-type]  # every conv here has a bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


@register_model("squeezenet1_1", 224, "SqueezeNet 1.1, fire modules, no BatchNorm")
def squeezenet1_1(width: float, num_classes: int) -> nn.Module:
    """SqueezeNet 1.1 (torchvision ``squeezenet1_1``) with channels scaled by ``width``."""
    return SqueezeNet(width, num_classes)
