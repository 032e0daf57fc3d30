"""ONNX export through ``torch.onnx.export(dynamo=True)`` (static batch-1 NCHW input, BatchNorm folded),
and int8 through onnxruntime's static quantizer: QDQ format, per-channel int8 weights, per-tensor activations
in the scheme's type (``runtime.formats``: ``s8s8``, ``u8s8``, ``u8s8-7bit``).

The scheme decides speed on each CPU: onnxruntime's x86-64 kernels are built around u8 x s8 products, so
uint8 activations run there 1.6x faster than int8 ones (MobileNetV2 0.75, 224 px, 1 thread, AMX CPU: 2.90 vs
4.74 ms; fp32 4.62), while ARM's fast kernels are signed. Without VNNI those products are summed in
saturating 16-bit pairs, so the x86 scheme for such CPUs uses 7-bit weights (``reduce_range``; measured on an
AVX2 CPU with the test model: top-1 drop 1.67 points with 8-bit weights, 0.56 with 7-bit).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgeconv.errors import UsageError
from edgeconv.exporters.cache import cached_conversion
from edgeconv.exporters.recipe import ConversionRequest
from edgeconv.quiet import quiet

OPSET = 18
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def _export_fp32(model: torch.nn.Module, example: torch.Tensor, destination: Path) -> None:
    destination.write_bytes(cached_conversion("onnx", model, example, lambda: _onnx_bytes(model, example)))


def _onnx_bytes(model: torch.nn.Module, example: torch.Tensor) -> bytes:
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # one warning per missing torchvision op
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        program = torch.onnx.export(
            model.eval(),
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=OPSET,
            verbose=False,
        )
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    return bytes(program.model_proto.SerializeToString())


class _Reader:
    """onnxruntime's ``CalibrationDataReader`` protocol over a list of arrays."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self._items = iter([{INPUT_NAME: x} for x in arrays])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)


def _ops(path: Path) -> list[tuple[str, str]]:
    """(op type, node name) of every node, in graph order."""
    import onnx

    return [(n.op_type, n.name) for n in onnx.load(str(path), load_external_data=False).graph.node]


@contextlib.contextmanager
def _sessions_without_spinning() -> Iterator[None]:
    """Make the sessions onnxruntime's quantizer opens for itself (pre-processing, calibration) wait on a
    condition instead of busy-spinning their thread pools. A spinning pool beside another busy process made
    one int8 export of the 32 px test model take 417 s instead of 8 s. The quantizer takes no session
    options, so its modules' ``SessionOptions`` is swapped for the duration of the call."""
    import onnxruntime
    from onnxruntime.quantization import quant_utils

    original = onnxruntime.SessionOptions

    class NoSpinning(original):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.add_session_config_entry("session.inter_op.allow_spinning", "0")

    onnxruntime.SessionOptions = quant_utils.SessionOptions = NoSpinning
    try:
        yield
    finally:
        onnxruntime.SessionOptions = quant_utils.SessionOptions = original


def _quantize(request: ConversionRequest, fp32: Path, work: Path) -> dict[str, Any]:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if request.calibration is None:
        raise UsageError("int8 ONNX export needs calibration images")
    recipe = request.recipe
    prepared = work / "prepared.onnx"
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)  # folds biases behind Identity nodes
    method = CalibrationMethod.Percentile if recipe.method == "alternative" else CalibrationMethod.MinMax
    excluded = request.float_ends(_ops(prepared))
    unsigned = recipe.scheme.startswith("u8")
    quantize_static(
        str(prepared),
        str(request.destination),
        _Reader(list(request.calibration.arrays("NCHW", recipe.calib_size))),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8 if unsigned else QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=method,
        nodes_to_exclude=excluded,
        reduce_range=recipe.scheme.endswith("-7bit"),
        extra_options={"CalibPercentile": 99.999} if recipe.method == "alternative" else {},
    )
    return {
        "method": "static QDQ (onnxruntime quantize_static)",
        "weights": "int8 symmetric per-channel" + (", 7-bit range (reduce_range)" if "7bit" in recipe.scheme else ""),
        "activations": ("uint8" if unsigned else "int8") + " per-tensor",
        "calibration": "percentile 99.999" if recipe.method == "alternative" else "min/max",
        "io": ["float32", "float32"],
        "float_nodes": excluded,
        "recipe": recipe.to_dict(),
    }


def convert(request: ConversionRequest) -> dict[str, Any]:
    """Write ``request.model`` as ONNX (fp32, or int8 QDQ) to ``request.destination``."""
    if request.precision == "fp32":
        _export_fp32(request.model, request.example, request.destination)
        return {"opset": OPSET, "layout": "NCHW", "quantization": None}
    with tempfile.TemporaryDirectory(dir=request.destination.parent) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _export_fp32(request.model, request.example, fp32)
        with quiet(), _sessions_without_spinning():
            quantization = _quantize(request, fp32, Path(tmp))
    return {"opset": OPSET, "layout": "NCHW", "quantization": quantization}
