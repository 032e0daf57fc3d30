"""OpenVINO IR export: a true fp32 IR (no silent fp16 weight compression), fp16, and int8 with NNCF.

The input shape is static ``[1, 3, H, W]`` (a dynamic shape is slower and breaks ``benchmark_app``). The int8
scheme ``nncf-7bit`` (for x86-64 CPUs without VNNI) uses a 7-bit weight range in every layer (NNCF's overflow
fix): those CPUs multiply u8 x s8 pairs into saturating 16-bit sums, which cost MobileNet-like networks
accuracy (measured on an AVX2 CPU with the test model: top-1 drop 2.23 points with NNCF's default, 0.84 with
the fix); ``nncf`` keeps full-range weights, exact on CPUs with VNNI or AMX and on ARM.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from edgeconv.errors import UsageError
from edgeconv.exporters.recipe import ConversionRequest
from edgeconv.quiet import quiet


def _ops(model: Any) -> list[tuple[str, str]]:
    """(op type, friendly name) of every op, in graph order."""
    return [(op.get_type_name(), op.get_friendly_name()) for op in model.get_ordered_ops()]


def _quantize(model: Any, request: ConversionRequest) -> tuple[Any, dict[str, Any]]:
    import nncf

    if request.calibration is None:
        raise UsageError("int8 OpenVINO export needs calibration images")
    recipe = request.recipe
    items = list(request.calibration.arrays("NCHW", recipe.calib_size))
    ignored = request.float_ends(_ops(model))
    alternative = recipe.method == "alternative"
    seven_bit = recipe.scheme == "nncf-7bit"  # in every layer; NNCF's own default fixes the first only
    overflow_fix = nncf.OverflowFix.ENABLE if seven_bit else nncf.OverflowFix.DISABLE
    quantized = nncf.quantize(
        model,
        nncf.Dataset(items),
        preset=nncf.QuantizationPreset.MIXED if alternative else nncf.QuantizationPreset.PERFORMANCE,
        subset_size=len(items),
        fast_bias_correction=not alternative,
        ignored_scope=nncf.IgnoredScope(names=ignored) if ignored else None,
        advanced_parameters=nncf.AdvancedQuantizationParameters(overflow_fix=overflow_fix),
    )
    return quantized, {
        "method": "NNCF post-training quantization (FakeQuantize, "
        + ("mixed preset: asymmetric activations)" if alternative else "performance preset)"),
        "weights": "int8 symmetric per-channel" + (", 7-bit range (overflow fix)" if seven_bit else ""),
        "activations": "int8 per-tensor, " + ("asymmetric" if alternative else "symmetric"),
        "calibration": "min/max, bias correction " + ("full" if alternative else "fast"),
        "io": ["float32", "float32"],
        "float_nodes": ignored,
        "recipe": recipe.to_dict(),
    }


@contextlib.contextmanager
def _telemetry_off() -> Iterator[None]:
    """OpenVINO's converter and NNCF send usage telemetry over the network (from a forked helper process)
    unless the user opted out; edgeconv makes no network requests. Both decline it in CI, which they read
    from ``CI`` (the converter) and ``NNCF_CI`` (NNCF, which uses it for nothing else)."""
    saved = {name: os.environ.get(name) for name in ("CI", "NNCF_CI")}
    os.environ.update(CI="true", NNCF_CI="1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def convert(request: ConversionRequest) -> dict[str, Any]:
    """Write ``request.model`` as OpenVINO IR (``.xml`` + ``.bin``) at fp32, fp16 or int8."""
    shape = list(request.example.shape)
    with quiet(), _telemetry_off():
        import openvino as ov

        model = ov.convert_model(request.model.eval(), example_input=request.example, input=[shape])
        quantization = None
        if request.precision == "int8":
            model, quantization = _quantize(model, request)
        elif request.precision == "fp16":
            quantization = {"method": "fp16 weights (compress_to_fp16)", "io": ["float32", "float32"]}
        ov.save_model(model, str(request.destination), compress_to_fp16=request.precision == "fp16")
    return {"layout": "NCHW", "quantization": quantization, "openvino": ov.__version__}
