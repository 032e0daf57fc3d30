"""The layers of a ``.tflite`` file read from LiteRT's interpreter (ops, tensor shapes and types), without
times: its Python interpreter has no op profiler, so a model-level roofline (the sum of the layers' bounds
against the measured p50) is what edgeconv can give for LiteRT on a board with Python."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeconv.runtime.profile.layers import Layer, kind_of

_WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def tflite_layers(path: Path) -> list[Layer]:
    """Every op of the file's main subgraph as a :class:`Layer` with MACs and bytes (``ms`` is 0)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}

    def size(index: int) -> int:
        tensor = tensors[index]
        return int(np.prod(tensor["shape"])) * np.dtype(tensor["dtype"]).itemsize

    layers = []
    for op in interpreter._get_ops_details():
        name, inputs, outputs = op["op_name"], [i for i in op["inputs"] if i >= 0], list(op["outputs"])
        weight = tuple(int(d) for d in tensors[inputs[1]]["shape"]) if name in _WEIGHTED else None
        macs = 0
        if weight is not None:
            out = tuple(int(d) for d in tensors[outputs[0]]["shape"])
            macs = int(np.prod(out)) // out[-1] * int(np.prod(weight))
        kind = kind_of(name, weight, None)
        if name == "CONV_2D" and weight is not None:
            kind = "pointwise conv" if weight[1] * weight[2] == 1 else "full conv"
        traffic = sum(size(i) for i in inputs + outputs)
        layers.append(Layer(f"{name}:{op['index']}", name, kind, 0.0, macs, traffic))
    return layers
