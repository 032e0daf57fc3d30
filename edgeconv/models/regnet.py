"""RegNetX and RegNetY (Radosavovic et al., 2020) at 200, 400, 600 and 800 MF, as torchvision defines them
(timm's ``regnetx_002``/``006``, ``regnety_002``/``004``/``006`` are the same networks), at any width.

Every block is a residual bottleneck (1x1, 3x3 grouped conv with a fixed group width, 1x1); Y adds
squeeze-excite sized from the block's input. The stage tables below are what the paper's linear
parameterisation (w0, wa, wm, depth) generates after torchvision's quantisation to the group width.
Module names follow torchvision, so its state dicts load by name.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from edgeconv.models.layers import ConvBNAct, SqueezeExcite, init_weights, make_divisible
from edgeconv.models.registry import register_model

STEM_CHANNELS = 32


@dataclass(frozen=True)
class RegNetConfig:
    """Per stage: output channels and block count; one group width; squeeze-excite (Y) or not (X)."""

    widths: tuple[int, int, int, int]
    depths: tuple[int, int, int, int]
    group_width: int
    se: bool


CONFIGS = {
    # from (depth, w0, wa, wm, group width): (13, 24, 36.44, 2.49, 8)
    "regnetx_200mf": RegNetConfig((24, 56, 152, 368), (1, 1, 4, 7), 8, False),
    # (22, 24, 24.48, 2.54, 16)
    "regnetx_400mf": RegNetConfig((32, 64, 160, 400), (1, 2, 7, 12), 16, False),
    # (16, 48, 36.97, 2.24, 24)
    "regnetx_600mf": RegNetConfig((48, 96, 240, 528), (1, 3, 5, 7), 24, False),
    # (16, 56, 35.73, 2.28, 16)
    "regnetx_800mf": RegNetConfig((64, 128, 288, 672), (1, 3, 7, 5), 16, False),
    # (13, 24, 36.44, 2.49, 8)
    "regnety_200mf": RegNetConfig((24, 56, 152, 368), (1, 1, 4, 7), 8, True),
    # (16, 48, 27.89, 2.09, 8)
    "regnety_400mf": RegNetConfig((48, 104, 208, 440), (1, 3, 6, 6), 8, True),
    # (15, 48, 32.54, 2.32, 16)
    "regnety_600mf": RegNetConfig((48, 112, 256, 608), (1, 3, 7, 4), 16, True),
    # (14, 56, 38.84, 2.4, 16)
    "regnety_800mf": RegNetConfig((64, 144, 320, 784), (1, 3, 8, 2), 16, True),
}


class Bottleneck(nn.Module):
    """``proj`` (1x1 stride conv-BN, when the shape changes) + ``f`` (a, b, [se], c), then ReLU."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, group_width: int, se: bool) -> None:
        super().__init__()
        self.proj = ConvBNAct(in_ch, out_ch, 1, stride, act_layer=None) if stride != 1 or in_ch != out_ch else None
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            a=ConvBNAct(in_ch, out_ch, 1),
            b=ConvBNAct(out_ch, out_ch, 3, stride, groups=out_ch // group_width),
        )
        if se:
            layers["se"] = SqueezeExcite(out_ch, round(0.25 * in_ch))
        layers["c"] = ConvBNAct(out_ch, out_ch, 1, act_layer=None)
        self.f = nn.Sequential(layers)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class RegNet(nn.Module):
    """3x3 stride-2 stem, four stages each starting at stride 2, global pool, linear."""

    def __init__(self, config: RegNetConfig, width: float, num_classes: int) -> None:
        super().__init__()
        in_ch = make_divisible(STEM_CHANNELS * width)
        self.stem = ConvBNAct(3, in_ch, 3, stride=2)
        stages: OrderedDict[str, nn.Module] = OrderedDict()
        for index, (channels, depth) in enumerate(zip(config.widths, config.depths, strict=True), start=1):
            group_width = min(config.group_width, make_divisible(channels * width))
            out_ch = make_divisible(channels * width, group_width)
            blocks: OrderedDict[str, nn.Module] = OrderedDict(
                (
                    f"block{index}-{i}",
                    Bottleneck(in_ch if i == 0 else out_ch, out_ch, 1 + (i == 0), group_width, config.se),
                )
                for i in range(depth)
            )
            stages[f"block{index}"] = nn.Sequential(blocks)
            in_ch = out_ch
        self.trunk_output = nn.Sequential(stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.trunk_output(self.stem(x))), 1))


_TIMM_LAYERS = {"conv1": "f.a", "conv2": "f.b", "conv3": "f.c", "se": "f.se", "downsample": "proj"}
_TIMM_PARTS = {"conv": "0", "bn": "1", "fc1": "reduce", "fc2": "expand"}


def timm_names(name: str) -> str:
    """timm's RegNet tensor name -> this module's: ``s2.b1.downsample.bn.weight`` ->
    ``trunk_output.block2.block2-0.proj.1.weight`` (timm lists the shortcut last, torchvision first)."""
    if name.startswith("head.fc."):
        return name.removeprefix("head.")
    stem = re.fullmatch(r"stem\.(conv|bn)\.(.+)", name)
    if stem:
        return f"stem.{_TIMM_PARTS[stem[1]]}.{stem[2]}"
    block = re.fullmatch(r"s(\d+)\.b(\d+)\.(\w+)\.(\w+)\.(.+)", name)
    if block and block[3] in _TIMM_LAYERS:
        stage, index, layer, part, rest = block.groups()
        return (
            f"trunk_output.block{stage}.block{stage}-{int(index) - 1}.{_TIMM_LAYERS[layer]}.{_TIMM_PARTS[part]}.{rest}"
        )
    return name


def _register(name: str) -> None:
    config = CONFIGS[name]
    kind, flops = name.split("_")
    description = f"RegNet{kind[-1].upper()}-{flops.upper()}, grouped bottlenecks" + (" + SE" if config.se else "")

    @register_model(name, 224, description, group="baseline", rename=timm_names)
    def build(width: float, num_classes: int) -> nn.Module:
        return RegNet(config, width, num_classes)


for _name in CONFIGS:
    _register(_name)
