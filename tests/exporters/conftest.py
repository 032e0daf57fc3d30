"""Artifacts of the trained test checkpoint in every format and precision, exported once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

MAX_DROP = 1.0  # the production default: the committed test model is trained well enough to meet it


@pytest.fixture(scope="session")
def trained(trained_checkpoint: Path) -> tuple[Any, dict[str, Any]]:
    from edgeconv.checkpoint import load_checkpoint

    return load_checkpoint(trained_checkpoint)


@pytest.fixture(scope="session")
def calibration(trained: tuple[Any, dict[str, Any]]) -> Any:
    """(calibration set, data splits) from the checkpoint's training data."""
    from edgeconv.exporters.calibration import load_calibration
    from edgeconv.runtime.preprocess import Preprocessing

    _, meta = trained
    return load_calibration(None, meta["dataset"], Preprocessing.from_dict(meta["preprocessing"]), 200)


@pytest.fixture(scope="session")
def artifacts(
    trained: tuple[Any, dict[str, Any]],
    calibration: Any,
    trained_checkpoint: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], Any]:
    """(format, precision) -> Artifact, int8 through the accuracy gate."""
    from edgeconv.checkpoint import weights_record
    from edgeconv.exporters import export

    model, meta = trained
    calib, data = calibration
    out = tmp_path_factory.mktemp("formats")
    weights = weights_record(trained_checkpoint)
    made = {}
    for fmt, precision in [
        ("tflite", "fp32"),
        ("tflite", "fp16"),
        ("tflite", "int8"),
        ("openvino", "fp32"),
        ("openvino", "int8"),
        ("onnx", "int8"),
    ]:
        made[(fmt, precision)] = export(
            model, fmt, precision, calib, out, val=data.val, max_drop=MAX_DROP, weights=weights, meta=meta
        )
    return made
