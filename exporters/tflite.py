"""TFLite (LiteRT) export with litert-torch, int8 and fp16 with ai-edge-quantizer.

The model is wrapped to take NHWC input (``to_channel_last_io``) so that no TRANSPOSE is left in the graph.
int8 is full-integer: per-channel symmetric int8 weights, per-tensor int8 activations calibrated with
global min/max statistics (the quantizer's default moving average clips outputs), int8 input and output
(with ``float_io``: float input and output, one QUANTIZE and one DEQUANTIZE at the boundaries).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import torch

from edgeconv.errors import UsageError
from edgeconv.exporters.cache import cached_conversion
from edgeconv.exporters.recipe import ConversionRequest
from edgeconv.quiet import quiet

_FP16_RECIPE = [
    {
        "regex": ".*",
        "operation": "*",
        "algorithm_key": "float_casting",
        "op_config": {
            "weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
            "compute_precision": "FLOAT",
            "explicit_dequantize": True,
        },
    }
]


def _float_tflite(model: torch.nn.Module, example: torch.Tensor) -> bytes:
    import litert_torch
    from litert_torch import progress

    progress.console.quiet = True  # its own rich console prints every conversion stage
    nhwc = litert_torch.to_channel_last_io(model, args=[0]).eval()
    sample = example.permute(0, 2, 3, 1).contiguous()
    edge_model = litert_torch.convert(nhwc, (sample,))
    return bytes(edge_model.model_content())


def _int8(float_model: bytes, request: ConversionRequest) -> tuple[bytes, list[str]]:
    """The full-integer model and the names of the ops the recipe kept in float."""
    from ai_edge_quantizer import calibrator, quantizer, recipe
    from ai_edge_quantizer.utils import qsv_utils

    if request.calibration is None:
        raise UsageError("int8 TFLite export needs calibration images")
    options = request.recipe
    ops = _ops(float_model)
    kinds = dict((name, kind) for kind, name in ops)
    # the quantizer names an op by its output tensors ("name;"), so an anchored regex picks exactly that op
    float_nodes = request.float_ends(ops)
    keep_float = [_no_quantize(f"^{re.escape(name)};", kinds[name]) for name in float_nodes]
    if options.float_io:
        keep_float += [_no_quantize(".*", "INPUT"), _no_quantize(".*", "OUTPUT")]
    q = quantizer.Quantizer(float_model)
    q.load_quantization_recipe([*recipe.static_wi8_ai8(), *keep_float])
    update = qsv_utils.moving_average_update if options.method == "alternative" else qsv_utils.min_max_update
    calib = calibrator.Calibrator(float_model, num_threads=2, qsv_update_func=update)
    signature, input_name = _signature(float_model)
    samples = [{input_name: x} for x in request.calibration.arrays("NHWC", options.calib_size)]
    calib.calibrate({signature: samples}, q._recipe_manager)  # documented path for custom QSV statistics
    result = q.quantize(calib.get_model_qsvs(), enable_progress_report=False)
    return bytes(result.quantized_model), float_nodes


def _no_quantize(regex: str, operation: str) -> dict[str, Any]:
    return {"regex": regex, "operation": operation, "algorithm_key": "no_quantize", "op_config": {}}


def _ops(model: bytes) -> list[tuple[str, str]]:
    """(op type, first output tensor name) of every op of a .tflite flatbuffer, in graph order."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter.allocate_tensors()
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    return [(op["op_name"], names[op["outputs"][0]]) for op in interpreter._get_ops_details()]


def _fp16(float_model: bytes) -> bytes:
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(float_model)
    q.load_quantization_recipe(_FP16_RECIPE)
    return bytes(q.quantize(enable_progress_report=False).quantized_model)


def _signature(model: bytes) -> tuple[str, str]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    signatures = interpreter.get_signature_list()
    key = next(iter(signatures))
    return key, signatures[key]["inputs"][0]


def describe_graph(model: bytes) -> dict[str, Any]:
    """Operator counts, I/O dtypes and weight quantization of a .tflite flatbuffer (before delegation)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter.allocate_tensors()
    op_details = interpreter._get_ops_details()  # the public API has no op list
    ops = Counter(op["op_name"] for op in op_details)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    per_channel = None
    convs = [op for op in op_details if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    if convs and convs[0]["inputs"][1] in tensors:
        scales = tensors[convs[0]["inputs"][1]]["quantization_parameters"]["scales"]
        per_channel = len(scales) > 1 if len(scales) else None
    io = [*interpreter.get_input_details(), *interpreter.get_output_details()]
    return {
        "ops": dict(sorted(ops.items())),
        "transposes": ops.get("TRANSPOSE", 0),
        "float_islands": ops.get("DEQUANTIZE", 0) + ops.get("QUANTIZE", 0),
        "io_dtypes": [np.dtype(d["dtype"]).name for d in io],
        "per_channel_weights": per_channel,
    }


def convert(request: ConversionRequest) -> dict[str, Any]:
    """Write ``request.model`` as .tflite at fp32, fp16 or int8 to ``request.destination``."""
    with quiet():
        model = cached_conversion(
            "tflite", request.model, request.example, lambda: _float_tflite(request.model, request.example)
        )
        float_nodes: list[str] = []
        if request.precision == "int8":
            model, float_nodes = _int8(model, request)
        elif request.precision == "fp16":
            model = _fp16(model)
        graph = describe_graph(model)
    request.destination.write_bytes(model)
    quantization = None
    if request.precision == "int8":
        quantization = {
            "method": "full-integer static (ai-edge-quantizer static_wi8_ai8)",
            "weights": "int8 symmetric per-channel" if graph["per_channel_weights"] else "int8 per-tensor",
            "activations": "int8 asymmetric per-tensor",
            "calibration": "global min/max" if request.recipe.method == "minmax" else "moving-average min/max",
            "io": graph["io_dtypes"],
            "float_islands": graph["float_islands"] - (2 if request.recipe.float_io else 0),
            "float_nodes": float_nodes,
            "recipe": request.recipe.to_dict(),
        }
    elif request.precision == "fp16":
        quantization = {"method": "fp16 weights, float32 compute", "io": graph["io_dtypes"]}
    return {"layout": "NHWC", "quantization": quantization, "graph": graph}
