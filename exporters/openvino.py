"""OpenVINO IR export: a true fp32 IR (no silent fp16 weight compression), fp16, and int8 with NNCF.

The input shape is static ``[1, 3, H, W]`` (a dynamic shape is slower and breaks ``benchmark_app``).
"""

from __future__ import annotations

from typing import Any

from edgeconv.errors import UsageError
from edgeconv.exporters.recipe import ConversionRequest
from edgeconv.quiet import quiet


def _end_ops(model: Any) -> list[str]:
    """Names of the first Convolution and the last MatMul: the layers kept in float with ``float_ends``."""
    ops = model.get_ordered_ops()
    convs = [op.get_friendly_name() for op in ops if op.get_type_name() == "Convolution"]
    heads = [op.get_friendly_name() for op in ops if op.get_type_name() == "MatMul"]
    return convs[:1] + heads[-1:]


def _quantize(model: Any, request: ConversionRequest) -> tuple[Any, dict[str, Any]]:
    import nncf

    if request.calibration is None:
        raise UsageError("int8 OpenVINO export needs calibration images")
    recipe = request.recipe
    items = list(request.calibration.arrays("NCHW", recipe.calib_size))
    ignored = _end_ops(model) if recipe.float_ends else []
    alternative = recipe.method == "alternative"
    quantized = nncf.quantize(
        model,
        nncf.Dataset(items),
        preset=nncf.QuantizationPreset.MIXED if alternative else nncf.QuantizationPreset.PERFORMANCE,
        subset_size=len(items),
        fast_bias_correction=not alternative,
        ignored_scope=nncf.IgnoredScope(names=ignored) if ignored else None,
    )
    return quantized, {
        "scheme": "NNCF post-training quantization (FakeQuantize, "
        + ("mixed preset: asymmetric activations)" if alternative else "performance preset)"),
        "weights": "int8 symmetric per-channel",
        "activations": "int8 per-tensor, " + ("asymmetric" if alternative else "symmetric"),
        "calibration": "min/max, bias correction " + ("full" if alternative else "fast"),
        "io": ["float32", "float32"],
        "float_nodes": ignored,
        "recipe": recipe.to_dict(),
    }


def convert(request: ConversionRequest) -> dict[str, Any]:
    """Write ``request.model`` as OpenVINO IR (``.xml`` + ``.bin``) at fp32, fp16 or int8."""
    import openvino as ov

    shape = list(request.example.shape)
    with quiet():
        model = ov.convert_model(request.model.eval(), example_input=request.example, input=[shape])
        quantization = None
        if request.precision == "int8":
            model, quantization = _quantize(model, request)
        elif request.precision == "fp16":
            quantization = {"scheme": "fp16 weights (compress_to_fp16)", "io": ["float32", "float32"]}
        ov.save_model(model, str(request.destination), compress_to_fp16=request.precision == "fp16")
    return {"layout": "NCHW", "quantization": quantization, "openvino": ov.__version__}
