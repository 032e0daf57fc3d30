"""Reading an int8 ONNX file's graph, for the tests of the ONNX int8 schemes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np


def onnx_int8_graph(path: str) -> dict[str, Any]:
    """What an int8 QDQ ONNX file holds: op counts, per-channel weight scales, the largest |int8 weight| and
    the dtypes of the activations' zero points."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    dequantized = [n for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits]
    conv_weights = [n for n in dequantized if inits[n.input[0]].dtype == np.int8 and inits[n.input[0]].ndim == 4]
    activations = [n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] not in inits]
    return {
        "ops": Counter(node.op_type for node in graph.node),
        "per_channel": bool(conv_weights) and all(inits[n.input[1]].size > 1 for n in conv_weights),
        "max_weight": max(int(np.abs(inits[n.input[0]].astype(np.int16)).max()) for n in conv_weights),
        "activation_dtypes": {inits[n.input[2]].dtype.name for n in activations},
    }
