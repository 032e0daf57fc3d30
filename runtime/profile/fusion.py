"""Which node of an ONNX file onnxruntime fused into which executed node of its optimised graph.

onnxruntime names a node it rewrites after the node or the tensor it replaces, with suffixes
(``node_Conv_809_token_1`` for a QDQ group turned into a QLinearConv, ``hardtanh_nchwc`` for a Conv+Clip
in the blocked NCHWc layout): such a node *anchors* the original node of that name, or the producer of
that tensor. Every other original node joins an anchor: a quantize or activation the one right before it,
anything else (a weight's DequantizeLinear, a convolution fused with the activation after it) the first
anchor downstream.
"""

from __future__ import annotations

import re
from collections import deque

from edgeconv.runtime.profile.onnx_wire import Node

FOLDED = "(folded into constants)"
_SUFFIX = re.compile(r"(?:_token_\d+|_nchwc|_fused_\w+)+$")
_POST_OPS = {"QuantizeLinear", "Clip", "Relu", "HardSigmoid", "HardSwish", "Sigmoid", "Mul", "Add"}


def _anchors(original: list[Node], executed: list[str]) -> dict[str, str]:
    names = {node.name for node in original}
    producer = {tensor: node.name for node in original for tensor in node.outputs}
    anchors: dict[str, str] = {}
    for name in executed:
        base = _SUFFIX.sub("", name)
        for candidate in (name, base):
            target = candidate if candidate in names else producer.get(candidate)
            if target is not None:
                anchors.setdefault(target, name)
                break
    return anchors


def fused_into(original: list[Node], executed: list[str]) -> dict[str, str]:
    """For every node of ``original`` that no ``executed`` node stands for: the executed node it became part
    of, or :data:`FOLDED` when none does (a constant computed once at load)."""
    anchors = _anchors(original, executed)
    producer = {tensor: node for node in original for tensor in node.outputs}
    consumers: dict[str, list[Node]] = {}
    for node in original:
        for tensor in node.inputs:
            consumers.setdefault(tensor, []).append(node)
    result: dict[str, str] = {}
    for node in original:
        if node.name in anchors and anchors[node.name] == node.name:
            continue
        if node.name in anchors:
            result[node.name] = anchors[node.name]
            continue
        before = producer.get(node.inputs[0]) if node.inputs else None
        if node.op_type in _POST_OPS and before is not None and before.name in anchors:
            result[node.name] = anchors[before.name]
        else:
            result[node.name] = _downstream(node, anchors, consumers)
    return result


def _downstream(start: Node, anchors: dict[str, str], consumers: dict[str, list[Node]]) -> str:
    queue, seen = deque([start]), {start.name}
    while queue:
        for tensor in queue.popleft().outputs:
            for consumer in consumers.get(tensor, []):
                if consumer.name in anchors:
                    return anchors[consumer.name]
                if consumer.name not in seen:
                    seen.add(consumer.name)
                    queue.append(consumer)
    return FOLDED
