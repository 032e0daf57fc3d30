"""Building blocks shared by the mobile architectures: channel rounding, conv-BN-act, inverted residuals."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

ActLayer = Callable[[], nn.Module]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """Round a channel count to a multiple of ``divisor`` without going below ``round_limit`` of ``value``.

    This is the rounding of the TensorFlow reference implementations (and timm's ``make_divisible``,
    torchvision's ``_make_divisible``): nearest multiple, bumped up one step when rounding lost more than 10%.
    """
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> optional activation, with 'same' padding for odd kernels."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        act_layer: ActLayer | None = nn.ReLU,
        eps: float = 1e-5,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels, eps=eps),
        ]
        if act_layer is not None:
            layers.append(act_layer())
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global pool -> 1x1 reduce -> ReLU -> 1x1 expand -> sigmoid (or hard-sigmoid)
    gate."""

    def __init__(self, channels: int, reduced_channels: int, gate_layer: ActLayer = nn.Sigmoid) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, reduced_channels, 1)
        self.act = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(reduced_channels, channels, 1)
        self.gate = gate_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.expand(self.act(self.reduce(self.pool(x)))))
        return x * scale


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand -> kxk depthwise -> [squeeze-excite] -> 1x1 linear projection.

    The expansion conv is omitted when ``expand_ratio`` is 1 (a depthwise-separable conv). The residual
    connection is used when the block keeps resolution and channel count, unless ``skip`` is False.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        expand_ratio: float,
        act_layer: ActLayer,
        se_channels: int = 0,
        skip: bool = True,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = round(in_channels * expand_ratio)
        self.use_residual = skip and stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(in_channels, hidden, 1, act_layer=act_layer))
        layers.append(ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden, act_layer=act_layer))
        if se_channels:
            layers.append(SqueezeExcite(hidden, se_channels))
        layers.append(ConvBNAct(hidden, out_channels, 1, act_layer=None))
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class Classifier(nn.Module):
    """Feature extractor + global average pool + dropout + linear head, the layout of all mobile families.

    Pooling is ``adaptive_avg_pool2d`` followed by ``flatten`` (not ``x.mean((2, 3))``), which converts to a
    single pooling op in every exporter without layout transposes.
    """

    def __init__(self, features: nn.Sequential, num_features: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(num_features, num_classes))
        self.num_features = num_features
        self.num_classes = num_classes
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def init_weights(model: nn.Module) -> None:
    """torchvision's initialisation for mobile networks: He (fan-out) convs, unit BN, small linear head."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


def pooling_matrix(size: int, out_size: int) -> torch.Tensor:
    """(out_size, size) matrix whose rows average the cells adaptive average pooling assigns to each output:
    ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    matrix = torch.zeros(out_size, size)
    for i in range(out_size):
        start, end = (i * size) // out_size, -(-(i + 1) * size // out_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


class AdaptiveAvgPool(nn.Module):
    """``adaptive_avg_pool2d`` to a fixed grid (VGG's 7x7, AlexNet's 6x6), written with ops that every
    exporter converts at any input size: a plain average pool when the input divides evenly (the native
    resolution), otherwise a product with the pooling matrices (at small inputs the grid repeats cells)."""

    def __init__(self, out_size: int) -> None:
        super().__init__()
        self.out_size = out_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % self.out_size == 0 and width % self.out_size == 0:
            kernel = (height // self.out_size, width // self.out_size)
            return nn.functional.avg_pool2d(x, kernel) if kernel != (1, 1) else x
        rows = pooling_matrix(height, self.out_size).to(x)
        cols = pooling_matrix(width, self.out_size).to(x)
        return torch.matmul(torch.matmul(rows, x), cols.T)


Size = int | tuple[int, int]


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm (eps 0.001) -> ReLU: the unit of torchvision's GoogLeNet and Inception v3."""

    def __init__(self, in_ch: int, out_ch: int, kernel: Size, stride: int = 1, padding: Size = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_ch, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))
