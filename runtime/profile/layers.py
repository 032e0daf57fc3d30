"""One profiled layer (an op the runtime executed), what kind of work it is, and its MACs and bytes moved."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# "conv": a convolution whose kernel size the profile does not give (LiteRT's native tool)
KINDS = (
    "pointwise conv",
    "depthwise conv",
    "full conv",
    "conv",
    "fully connected",
    "pooling",
    "elementwise",
    "reorder",
)
CONV_OPS = {"Conv", "QLinearConv", "FusedConv", "ConvInteger", "Convolution", "GroupConvolution", "CONV_2D"}
DEPTHWISE_OPS = {"DEPTHWISE_CONV_2D"}
FC_OPS = {"Gemm", "QGemm", "MatMul", "MatMulInteger", "FusedMatMul", "FullyConnected", "FULLY_CONNECTED"}
POOL_OPS = {"ReduceMean", "GlobalAveragePool", "AveragePool", "MaxPool", "AvgPool", "Pooling", "MEAN"}
POOL_OPS |= {"AVERAGE_POOL_2D", "MAX_POOL_2D", "GlobalMaxPool", "Reduce"}
REORDER_OPS = {"QuantizeLinear", "DequantizeLinear", "Transpose", "Reshape", "Reorder", "Convert", "FakeQuantize"}
REORDER_OPS |= {"QUANTIZE", "DEQUANTIZE", "RESHAPE", "SQUEEZE", "TRANSPOSE", "Flatten", "Squeeze", "Concat"}
REORDER_OPS |= {"Copy", "Subgraph", "CONCATENATION"}


@dataclass
class Layer:
    """An executed op: per-inference time (median over the profiled runs), work and traffic, and the graph
    nodes the runtime fused into it."""

    name: str
    op_type: str
    kind: str
    ms: float
    macs: int = 0
    bytes: int = 0
    fused: list[str] = field(default_factory=list)
    calls: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def intensity(self) -> float | None:
        """MACs per byte moved."""
        return self.macs / self.bytes if self.bytes else None


def kind_of(op_type: str, weight_shape: tuple[int, ...] | None, in_channels: int | None) -> str:
    """The op kind of an op of ``op_type`` whose weights have ``weight_shape`` (OIHW, GOIHW or a TFLite
    OHWI) on ``in_channels`` input channels."""
    if op_type in DEPTHWISE_OPS:
        return "depthwise conv"
    if op_type in CONV_OPS and weight_shape:
        if op_type == "GroupConvolution" or (len(weight_shape) == 4 and weight_shape[1] == 1 and in_channels != 1):
            return "depthwise conv"
        kernel = weight_shape[1:3] if op_type == "CONV_2D" else weight_shape[2:]
        return "pointwise conv" if math.prod(kernel) == 1 else "full conv"
    if op_type in FC_OPS:
        return "fully connected"
    if op_type in POOL_OPS:
        return "pooling"
    if op_type in REORDER_OPS:
        return "reorder"
    return "elementwise"


def conv_macs(out_shape: tuple[int, ...], weight_shape: tuple[int, ...], out_channels: int) -> int:
    """Multiply-accumulates of a convolution or matrix product: each output element costs the weights of one
    output channel (weights / output channels), whatever the layout and grouping."""
    if not out_shape or not weight_shape or out_channels <= 0:
        return 0
    return math.prod(out_shape) * math.prod(weight_shape) // out_channels


def by_kind(layers: list[Layer]) -> dict[str, dict[str, float]]:
    """Time, share of time, MACs and bytes per op kind, slowest kind first."""
    total = sum(layer.ms for layer in layers) or 1.0
    kinds: dict[str, dict[str, float]] = {}
    for layer in layers:
        entry = kinds.setdefault(layer.kind, {"ms": 0.0, "share": 0.0, "macs": 0, "bytes": 0, "layers": 0})
        entry["ms"] += layer.ms
        entry["macs"] += layer.macs
        entry["bytes"] += layer.bytes
        entry["layers"] += 1
    for entry in kinds.values():
        entry["share"] = entry["ms"] / total
    return dict(sorted(kinds.items(), key=lambda item: -item[1]["ms"]))
