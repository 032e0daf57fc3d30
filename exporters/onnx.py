"""ONNX export through ``torch.onnx.export(dynamo=True)``: static batch-1 NCHW input, BatchNorm folded."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import torch

from edgeconv.errors import UsageError

OPSET = 18
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def convert(
    model: torch.nn.Module, example: torch.Tensor, destination: Path, precision: str, calibration: Any
) -> dict[str, Any]:
    """Write ``model`` as ONNX to ``destination``. Only fp32 is produced here."""
    if precision != "fp32":
        raise UsageError(f"ONNX export does not produce {precision} yet")
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
    destination.write_bytes(program.model_proto.SerializeToString())
    return {"opset": OPSET, "layout": "NCHW", "quantization": None}
