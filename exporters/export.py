"""``export()``: the one way to make an artifact. Convert with the format's converter, check parity against
PyTorch, pass int8 through the accuracy gate when held-out images are given, write file + sidecar atomically.

Everything is written into a staging directory inside ``out_dir`` first; only when the conversion, the
parity check and the accuracy gate have passed are the files published (companions and sidecar first, the main
file last: :mod:`edgeconv.staging`). A failed export leaves nothing behind; a killed one leaves a staging
directory that the next export into ``out_dir`` finishes or removes.
"""

from __future__ import annotations

import platform
import shutil
import time
from dataclasses import replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from edgeconv.atomic import write_json
from edgeconv.data import ImageSet
from edgeconv.errors import EdgeconvError, UsageError, disk_full, free_bytes, require_installed
from edgeconv.exporters.artifact import Artifact
from edgeconv.exporters.calibration import CalibrationSet
from edgeconv.exporters.gate import DEFAULT_MAX_DROP, Accept, AccuracyGate, gated
from edgeconv.exporters.parity import measure_parity, noise_inputs
from edgeconv.exporters.recipe import ConversionRequest, QuantRecipe
from edgeconv.models.factory import count_macs, count_params, model_config, model_stem
from edgeconv.runtime.artifact_info import artifact_sha256, sidecar_path
from edgeconv.runtime.backends import load
from edgeconv.runtime.device import device_info, int8_path
from edgeconv.runtime.formats import FormatSpec, get_format
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.staging import make_staging, publish, recover

# Scratch space an export may need, in copies of the fp32 weights: the float model, onnxruntime's pre-processed
# and optimised copies, the result. An int8 ONNX export of a 1.6 MB float model failed with 5.4 MB free.
SCRATCH_COPIES = 6


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
    return f"{model_stem(config)}_{precision}{suffix}"


def _parity(
    model: torch.nn.Module,
    path: Path,
    example: torch.Tensor,
    calibration: CalibrationSet | None,
    tolerance: float,
    weights: dict[str, Any] | None,
) -> dict[str, Any]:
    if calibration is not None and len(calibration):
        inputs, kind = list(calibration.arrays("NCHW", limit=16)), "real images (calibration set)"
    else:
        inputs, kind = noise_inputs(tuple(example.shape)), "standard-normal noise"
    parity = {**measure_parity(model, path, inputs, kind), "tolerance": tolerance}
    # rounding error grows with the values rounded: logits beyond 1 widen the allowed difference in proportion
    parity["allowed_abs_diff"] = tolerance * max(1.0, parity["max_abs_logit"])
    if (weights or {}).get("source") == "random-init":
        # a random network's logits are near-tied: which class wins flips with any rounding
        parity["top1_agreement_meaningful"] = False
    if not parity["max_abs_diff"] <= parity["allowed_abs_diff"]:
        raise ParityError(
            f"{path.suffix[1:]} export does not match PyTorch: max abs logit difference "
            f"{parity['max_abs_diff']:.3g} > tolerance {tolerance:g} x max(1, largest logit "
            f"{parity['max_abs_logit']:.3g}); nothing was written"
        )
    return parity


def export(
    model: torch.nn.Module,
    format: str = "onnx",
    precision: str = "fp32",
    calibration: CalibrationSet | None = None,
    out_dir: str | Path = ".",
    *,
    val: ImageSet | None = None,
    max_drop: float = DEFAULT_MAX_DROP,
    calibration_pool: CalibrationSet | None = None,
    recipe: QuantRecipe | None = None,
    weights: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    parity_tolerance: float | None = None,
    int8_scheme: str = "auto",
    device: dict[str, Any] | None = None,
) -> Artifact:
    """Export ``model`` (built by :func:`edgeconv.models.create_model`) to ``format`` at ``precision``.

    ``calibration`` (real images) is required for int8 and used for the parity check when given. With
    held-out images ``val``, an int8 export goes through the accuracy gate: it is evaluated right after
    conversion and, if top-1 drops more than ``max_drop`` points below the PyTorch model, retried with the
    safer recipes of :func:`edgeconv.exporters.recipe.fallback_recipes` (more calibration data from
    ``calibration_pool``, the format's alternative calibration, float first/last layers) before failing with
    :class:`AccuracyGateError`. ``weights`` describes where the weights came from and ``meta`` is the
    checkpoint's metadata (its preprocessing, dataset and class names are copied to the sidecar). The export
    fails with :class:`ParityError`, writing nothing, when the max absolute logit difference against PyTorch
    exceeds ``parity_tolerance`` (default: the format's tolerance for that precision), scaled by the largest
    logit where that is above 1.

    ``int8_scheme`` is one of the format's int8 schemes (``edgeconv.runtime.formats``), or ``auto``: the fast
    one for the CPU of ``device`` (a fingerprint from :func:`edgeconv.runtime.device.device_info`, as a target
    reports it; default this machine). The sidecar records the scheme and the CPU it was chosen for.
    """
    spec = get_format(format)
    spec.check_precision(precision)
    if precision == "int8" and calibration is None:
        raise UsageError(f"int8 {format} export needs a calibration set of real images")
    for package in spec.tool_packages:
        require_installed(package.replace("-", "_"), spec.export_extra, f"edgeconv export --format {format}")
    first = recipe or QuantRecipe()
    target_path = int8_path(device or device_info())
    if precision == "int8":
        first = replace(first, scheme=spec.int8_scheme(int8_scheme, target_path))

    def write(attempt: QuantRecipe, calib: CalibrationSet | None, accept: Accept | None) -> Artifact:
        return _write(
            model, spec, precision, calib, Path(out_dir), attempt, accept, weights, meta, parity_tolerance, target_path
        )

    if precision == "int8" and val is not None and calibration is not None:
        gate = AccuracyGate(model, val, calibration.preprocessing, max_drop)
        return gated(write, gate, first, calibration, calibration_pool, format)
    return write(first, calibration, None)


def _write(
    model: torch.nn.Module,
    spec: FormatSpec,
    precision: str,
    calibration: CalibrationSet | None,
    out_dir: Path,
    recipe: QuantRecipe,
    accept: Accept | None,
    weights: dict[str, Any] | None,
    meta: dict[str, Any] | None,
    parity_tolerance: float | None,
    target_int8_path: str,
) -> Artifact:
    """One conversion, checked and written atomically; ``accept`` may reject the staged file."""
    config = model_config(model)
    tolerance = spec.parity_tolerance[precision] if parity_tolerance is None else parity_tolerance
    resolution = config["resolution"]
    example = torch.zeros(1, 3, resolution, resolution)
    final = out_dir / artifact_name(config, precision, spec.suffix)
    started = time.perf_counter()
    free = free_bytes(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        recover(out_dir)
        staging = make_staging(out_dir)
    except OSError as exc:
        raise (disk_full(exc, final) or exc) from None
    try:
        staged = staging / final.name
        request = ConversionRequest(model.eval(), example, staged, precision, calibration, recipe, spec)
        facts = spec.load_converter()(request)
        session = load(staged, threads=1)
        parity = _parity(model, staged, example, calibration, tolerance, weights)
        accuracy = accept(staged) if accept else None
        files = spec.files(staged)
        artifact = Artifact(
            path=str(final.resolve()),
            sha256=artifact_sha256(staged),
            format=spec.name,
            precision=precision,
            size_bytes=sum(f.stat().st_size for f in files),
            files=[f.name for f in files],
            model={**config, "params": count_params(model), "macs": count_macs(model, resolution)},
            weights=weights or {"source": "unspecified"},
            input={**session.input.to_dict(), "layout": facts.get("layout", "NCHW")},
            output=session.output.to_dict(),
            quantization=_with_scheme(facts.get("quantization"), spec, recipe, precision, target_int8_path),
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
        publish(staging, [*files[1:], sidecar_path(staged), files[0]], out_dir)
    except Exception as exc:
        full = disk_full(exc, final, needed_bytes=SCRATCH_COPIES * 4 * count_params(model), free_before=free)
        if full is not None:
            raise full from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return artifact


def _with_scheme(
    quantization: dict[str, Any] | None, spec: FormatSpec, recipe: QuantRecipe, precision: str, target_int8_path: str
) -> dict[str, Any] | None:
    """An int8 record gets its scheme, the int8 path of the CPU the scheme was chosen for, and that of the CPU
    it was calibrated and gated on."""
    if quantization is None or precision != "int8":
        return quantization
    return {
        **quantization,
        "int8_scheme": recipe.scheme,
        "int8_scheme_means": spec.int8_schemes[recipe.scheme],
        "chosen_for_int8_path": target_int8_path,
        "export_cpu_int8_path": int8_path(device_info()),
    }
