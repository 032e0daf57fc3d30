"""``export()``: convert a model with the format's converter, check it, write file + sidecar atomically.

Everything is written into a temporary directory inside ``out_dir`` first; only when the conversion, the
parity check and the optional ``accept`` check (the int8 accuracy gate) have passed are the files renamed
into place (the sidecar last). A failed export leaves nothing behind.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from edgeconv.atomic import write_json
from edgeconv.errors import EdgeconvError, UsageError, require
from edgeconv.exporters.artifact import Artifact
from edgeconv.exporters.calibration import CalibrationSet
from edgeconv.exporters.parity import measure_parity, noise_inputs
from edgeconv.exporters.recipe import ConversionRequest, QuantRecipe
from edgeconv.exporters.registry import get_exporter
from edgeconv.models.factory import count_macs, count_params, model_config
from edgeconv.runtime.artifact_info import artifact_files, artifact_sha256, sidecar_path
from edgeconv.runtime.backends import load
from edgeconv.runtime.preprocess import Preprocessing

Accept = Callable[[Path], dict[str, Any]]  # checks a staged artifact; raises to reject it


class ParityError(EdgeconvError):
    """The exported file does not reproduce the PyTorch model within tolerance."""


def tool_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of ``packages`` plus edgeconv and Python."""
    versions = {"python": platform.python_version()}
    for package in ("edgeconv", *packages):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _preprocessing(meta: dict[str, Any] | None, resolution: int, layout: str) -> dict[str, Any]:
    """The checkpoint's preprocessing (or the ImageNet default) at the exported resolution and layout."""
    recorded = (meta or {}).get("preprocessing") or {"resolution": resolution}
    return Preprocessing.from_dict({**recorded, "resolution": resolution, "layout": layout}).to_dict()


def artifact_name(config: dict[str, Any], precision: str, suffix: str) -> str:
    """``mobilenetv2_w0.75_r224_fp32.onnx``: family, width, resolution, precision."""
    return f"{config['model']}_w{config['width']:g}_r{config['resolution']}_{precision}{suffix}"


def _parity(
    model: torch.nn.Module, path: Path, example: torch.Tensor, calibration: CalibrationSet | None, tolerance: float
) -> dict[str, Any]:
    if calibration is not None and len(calibration):
        inputs, kind = list(calibration.arrays("NCHW", limit=16)), "real images (calibration set)"
    else:
        inputs, kind = noise_inputs(tuple(example.shape)), "standard-normal noise"
    parity = {**measure_parity(model, path, inputs, kind), "tolerance": tolerance}
    if not parity["max_abs_diff"] <= tolerance:
        raise ParityError(
            f"{path.suffix[1:]} export does not match PyTorch: max abs logit difference "
            f"{parity['max_abs_diff']:.3g} > tolerance {tolerance:g}; nothing was written"
        )
    return parity


def export(
    model: torch.nn.Module,
    format: str = "onnx",
    precision: str = "fp32",
    calibration: CalibrationSet | None = None,
    out_dir: str | Path = ".",
    *,
    weights: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    recipe: QuantRecipe | None = None,
    accept: Accept | None = None,
    parity_tolerance: float | None = None,
) -> Artifact:
    """Export ``model`` (built by :func:`edgeconv.models.create_model`) to ``format`` at ``precision``.

    ``calibration`` (real images) is required for int8 and used for the parity check when given.
    ``weights`` describes where the weights came from and ``meta`` is the checkpoint's metadata (its
    preprocessing, dataset and class names are copied to the sidecar). ``accept`` may reject the staged file
    (the accuracy gate); what it returns is recorded as ``accuracy``. The export fails with
    :class:`ParityError`, writing nothing, when the max absolute logit difference against PyTorch exceeds
    ``parity_tolerance`` (default: the format's tolerance for that precision).
    """
    spec = get_exporter(format)
    if precision not in spec.precisions:
        raise UsageError(f"{format} export supports {', '.join(spec.precisions)}, not {precision!r}")
    if precision == "int8" and calibration is None:
        raise UsageError(f"int8 {format} export needs a calibration set of real images")
    config = model_config(model)
    for package in spec.tool_packages:
        require(package.replace("-", "_"), spec.extra, f"edgeconv export --format {format}")
    tolerance = spec.parity_tolerance[precision] if parity_tolerance is None else parity_tolerance
    resolution = config["resolution"]
    example = torch.zeros(1, 3, resolution, resolution)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / artifact_name(config, precision, spec.suffix)

    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        staged = staging / final.name
        request = ConversionRequest(model.eval(), example, staged, precision, calibration, recipe or QuantRecipe())
        facts = spec.load_converter()(request)
        session = load(staged, threads=1)
        parity = _parity(model, staged, example, calibration, tolerance)
        accuracy = accept(staged) if accept else None
        files = artifact_files(staged)
        artifact = Artifact(
            path=str(final.resolve()),
            sha256=artifact_sha256(staged),
            format=format,
            precision=precision,
            size_bytes=sum(f.stat().st_size for f in files),
            files=[f.name for f in files],
            model={**config, "params": count_params(model), "macs": count_macs(model, resolution)},
            weights=weights or {"source": "unspecified"},
            input={**session.input.to_dict(), "layout": facts.get("layout", "NCHW")},
            output=session.output.to_dict(),
            quantization=facts.get("quantization"),
            parity=parity,
            tools=tool_versions(spec.tool_packages),
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            export_seconds=round(time.perf_counter() - started, 3),
            details={k: v for k, v in facts.items() if k not in ("layout", "quantization")},
            preprocessing=_preprocessing(meta, resolution, facts.get("layout", "NCHW")),
            dataset=(meta or {}).get("dataset"),
            class_names=(meta or {}).get("class_names"),
            calibration=calibration.source if calibration is not None and precision == "int8" else None,
            accuracy=accuracy,
        )
        write_json(sidecar_path(staged), artifact.to_dict())
        for file in files:  # companions and main file first, the sidecar last
            os.replace(file, out_dir / file.name)
        os.replace(sidecar_path(staged), sidecar_path(final))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return artifact
