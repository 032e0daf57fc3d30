"""ResNet (He et al., 2016), ResNeXt (Xie et al., 2017) and SE-ResNet (Hu et al., 2018), as torchvision
(ResNet v1.5: the stride on the 3x3 conv) and timm (``seresnet50``) define them, at any width.

``width`` scales the stem and every stage's channels; at 1.0 the networks are the published ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgeconv.models.layers import init_weights, make_divisible
from edgeconv.models.published import PublishedWeights, torchvision_file
from edgeconv.models.registry import register_model

STAGE_CHANNELS = (64, 128, 256, 512)
STEM_CHANNELS = 64


@dataclass(frozen=True)
class ResNetConfig:
    """One member of the family."""

    bottleneck: bool  # 1x1-3x3-1x1 blocks with 4x expansion (else two 3x3 convs)
    depths: tuple[int, int, int, int]
    groups: int = 1  # ResNeXt cardinality
    width_per_group: int = 64
    se: bool = False  # squeeze-excite after the last conv of each block


def _conv_bn(
    in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1
) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    return nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(out_ch)


class SqueezeExcite(nn.Module):
    """timm's SE module of SE-ResNet: pool -> 1x1 fc1 -> ReLU -> 1x1 fc2 -> sigmoid, 1/16 reduction."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        reduced = make_divisible(channels / 16, round_limit=0.0)
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * scale.sigmoid()


class Block(nn.Module):
    """A basic (two 3x3) or bottleneck (1x1, 3x3 with stride and groups, 1x1) residual block."""

    def __init__(self, in_ch: int, planes: int, stride: int, config: ResNetConfig) -> None:
        super().__init__()
        expansion = 4 if config.bottleneck else 1
        out_ch = planes * expansion
        self.bottleneck = config.bottleneck
        if config.bottleneck:
            mid = max(1, int(planes * config.width_per_group / 64)) * config.groups
            self.conv1, self.bn1 = _conv_bn(in_ch, mid, 1)
            self.conv2, self.bn2 = _conv_bn(mid, mid, 3, stride, config.groups)
            self.conv3, self.bn3 = _conv_bn(mid, out_ch, 1)
        else:
            self.conv1, self.bn1 = _conv_bn(in_ch, planes, 3, stride)
            self.conv2, self.bn2 = _conv_bn(planes, planes, 3)
        self.se = SqueezeExcite(out_ch) if config.se else None
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(*_conv_bn(in_ch, out_ch, 1, stride))
        self.out_channels = out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.bottleneck:
            out = self.bn3(self.conv3(self.relu(out)))
        if self.se is not None:
            out = self.se(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ResNet(nn.Module):
    """7x7 stride-2 stem + max-pool, four stages (the first at stride 1), global pool, linear."""

    def __init__(self, config: ResNetConfig, width: float, num_classes: int) -> None:
        super().__init__()
        in_ch = make_divisible(STEM_CHANNELS * width)
        self.conv1 = nn.Conv2d(3, in_ch, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages = []
        for index, (channels, depth) in enumerate(zip(STAGE_CHANNELS, config.depths, strict=True)):
            planes = make_divisible(channels * width)
            blocks = []
            for block in range(depth):
                blocks.append(Block(in_ch, planes, 2 if index and not block else 1, config))
                in_ch = blocks[-1].out_channels
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


CONFIGS = {
    "resnet18": (ResNetConfig(False, (2, 2, 2, 2)), "ResNet-18, basic blocks"),
    "resnet34": (ResNetConfig(False, (3, 4, 6, 3)), "ResNet-34, basic blocks"),
    "resnet50": (ResNetConfig(True, (3, 4, 6, 3)), "ResNet-50 v1.5, bottleneck blocks"),
    "resnext50_32x4d": (ResNetConfig(True, (3, 4, 6, 3), groups=32, width_per_group=4), "ResNeXt-50 32x4d"),
    "se_resnet50": (ResNetConfig(True, (3, 4, 6, 3), se=True), "SE-ResNet-50 (timm seresnet50)"),
}


# torchvision's ResNet*_Weights, best first
PUBLISHED: dict[str, tuple[PublishedWeights, ...]] = {
    "resnet18": (torchvision_file("resnet18.IMAGENET1K_V1", 1.0, "resnet18-f37072fd.pth"),),
    "resnet50": (
        torchvision_file("resnet50.IMAGENET1K_V2", 1.0, "resnet50-11ad3fa6.pth"),
        torchvision_file("resnet50.IMAGENET1K_V1", 1.0, "resnet50-0676ba61.pth"),
    ),
}


def _register(name: str) -> None:
    config, description = CONFIGS[name]

    @register_model(name, 224, description, group="baseline", weights=PUBLISHED.get(name, ()))
    def build(width: float, num_classes: int) -> nn.Module:
        return ResNet(config, width, num_classes)


for _name in CONFIGS:
    _register(_name)
