"""``edgeconv export``: build (or load) a model and export it to every requested format and precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from edgeconv.cli.common import (
    connection_options,
    db_option,
    err,
    json_flag,
    out,
    print_json,
)
from edgeconv.cli.options import int8_options, weights_option
from edgeconv.errors import DiskFullError, EdgeconvError, UsageError, require
from edgeconv.runtime.formats import get_format, list_formats


def _model_from_args(
    checkpoint: str | None,
    weights: str | None,
    model: str | None,
    width: float | None,
    resolution: int | None,
    num_classes: int | None,
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The model to export, the record of where its weights came from, and the checkpoint's metadata."""
    from edgeconv.models import create_model
    from edgeconv.models.factory import estimate_batchnorm_statistics, model_config

    if checkpoint and weights:
        raise UsageError("--checkpoint and --weights both give the weights: use one")
    if checkpoint:
        from edgeconv.checkpoint import load_checkpoint, weights_record

        net, meta = load_checkpoint(checkpoint)
        config = model_config(net)
        asked = {"model": model, "width": width, "num_classes": num_classes}
        for key, value in asked.items():
            if value is not None and value != config[key]:
                raise UsageError(
                    f"--{key.replace('_', '-')} {value} conflicts with the checkpoint, which holds {key} {config[key]}"
                )
        if resolution is not None:  # the same weights run at any input size the family takes
            from edgeconv.models.registry import get_spec

            config["resolution"] = get_spec(config["model"]).check_resolution(resolution)
        return net, weights_record(checkpoint, meta), meta
    if model is None:
        raise UsageError("give --model NAME (see `edgeconv models`) or --checkpoint PATH")
    net = create_model(model, 1.0 if width is None else width, num_classes or 1000, resolution)
    if weights:
        from edgeconv.train.transfer import initialise

        init = initialise(net, weights, None, lambda line: err.print(line))
        note = "pretrained weights as published (derived to this width if narrower), not fine-tuned"
        return net, {"source": "pretrained", "init": init, "note": note}, {}
    estimate_batchnorm_statistics(net, model_config(net)["resolution"])
    random_init = {
        "source": "random-init",
        "note": "random weights, BatchNorm statistics estimated on noise; for latency measurement only",
    }
    return net, random_init, {}


def _row(artifact: Any) -> list[str]:
    accuracy = artifact.accuracy or {}
    if "top1" in accuracy:
        acc = f"{accuracy['top1']:.2%} (float {accuracy['float_top1']:.2%}, agree {accuracy['top1_agreement']:.1%})"
    else:
        acc = "-"
    parity = artifact.parity
    agree = f"{parity['top1_agreement']:.0%}" if parity.get("top1_agreement_meaningful", True) else "n/a"
    return [
        artifact.format,
        artifact.precision,
        Path(artifact.path).name,
        f"{artifact.size_bytes / 1e6:.2f}",
        f"{parity['max_abs_diff']:.1e} / {parity['mean_abs_diff']:.1e} / {agree}",
        acc,
        f"{artifact.export_seconds:.0f}",
    ]


@click.command("export")
@click.option("--model", "-m", default=None, help="Model family, e.g. mobilenetv2 (see `edgeconv models`).")
@click.option("--width", "-w", type=float, default=None, help="Width multiplier in (0, 2]. [default: 1.0]")
@click.option("--resolution", "-r", type=int, default=None, help="Input size in pixels (default: the family's).")
@click.option("--num-classes", type=int, default=None, help="Classifier outputs. [default: 1000]")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    default=None,
    help="Export trained weights from an edgeconv checkpoint (otherwise --weights, else random weights).",
)
@weights_option
@click.option(
    "--format",
    "-f",
    "formats",
    default="all",
    show_default=True,
    help=f"Comma-separated formats: {', '.join(list_formats())}, or all.",
)
@click.option(
    "--precision",
    "-p",
    "precisions",
    default="fp32",
    show_default=True,
    help="Comma-separated precisions: fp32, fp16, int8.",
)
@click.option("--int8", "int8", is_flag=True, help="Shorthand for --precision int8.")
@click.option(
    "--calib",
    default=None,
    help="Calibration images for int8: 'digits' or an ImageFolder directory. "
    "[default: the checkpoint's training data, else digits]",
)
@click.option("--float-io", is_flag=True, help="TFLite int8: keep float input and output (int8 inside).")
@int8_options
@click.option(
    "--target",
    default="local",
    show_default=True,
    help="The device the files are for: its CPU picks the auto int8 scheme, and its stored measurements tell "
    "whether int8 is slower than fp32 there (local, ssh://[user@]host[:port][/dir], an ssh_config alias, "
    "adb://SERIAL, labgrid://PLACE, labgrid:KEY=VALUE).",
)
@connection_options
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False),
    default="exports",
    show_default=True,
    help="Directory for the artifacts and their JSON sidecars.",
)
@json_flag
@db_option
def export_command(
    model: str | None,
    width: float | None,
    resolution: int | None,
    num_classes: int | None,
    checkpoint: str | None,
    weights: str | None,
    formats: str,
    precisions: str,
    int8: bool,
    calib: str | None,
    calib_size: int,
    float_io: bool,
    int8_scheme: str,
    target: str,
    accept_new_host_key: bool,
    max_drop: float,
    out_dir: str,
    as_json: bool,
    db: str | None,
) -> None:
    """Export a model to deployable files, each with a JSON sidecar (the artifact record).

    Every file is checked against PyTorch right after export (max absolute logit difference, <= 1e-4 for
    fp32) and every int8 file is evaluated on held-out images (the accuracy gate, --max-drop); a file that
    fails is not written. Files are written atomically.

    \b
    Examples:
      edgeconv export --model mobilenetv2 --width 0.75 --format onnx
      edgeconv export --model mobilenetv2 --width 0.5 --weights imagenet --format tflite
      edgeconv export --checkpoint runs/train/mobilenetv2_w0.5_r48.pt --int8
      edgeconv export --checkpoint CKPT --format tflite,openvino --precision fp32,fp16,int8
      edgeconv export --checkpoint CKPT --format onnx --int8 --target ssh://pi@raspberrypi.local
    """
    require("torch", "host", "edgeconv export")
    from edgeconv.exporters import export
    from edgeconv.exporters.calibration import CalibrationSet, load_calibration
    from edgeconv.exporters.recipe import QuantRecipe
    from edgeconv.models.factory import model_config
    from edgeconv.plan import parse_formats, parse_precisions, plan_exports
    from edgeconv.runtime.preprocess import Preprocessing

    plan, notes = plan_exports(parse_formats(formats), parse_precisions("int8" if int8 else precisions))
    device = _target_device(target, accept_new_host_key) if any(p == "int8" for _, p in plan) else None
    if device is not None and int8_scheme != "auto":
        for fmt in {f for f, p in plan if p == "int8"}:
            get_format(fmt).int8_scheme(int8_scheme, device["int8_path"])
    net, record, meta = _model_from_args(checkpoint, weights, model, width, resolution, num_classes)
    for note in notes:  # only once every option is known good: an error is one line
        err.print(f"note: {note}")
    trained = record["source"] == "checkpoint"
    calibration = pool = data = None
    if any(p == "int8" for _, p in plan):
        preprocessing = Preprocessing.from_dict(
            {**(meta.get("preprocessing") or {}), "resolution": model_config(net)["resolution"]}
        )
        with err.status("loading calibration images..."):
            calibration, data = load_calibration(calib, meta.get("dataset"), preprocessing, calib_size)
            pool = CalibrationSet.from_splits(data, len(data.train))
        if not trained:
            what = "pretrained weights not fine-tuned here" if weights else "random weights"
            err.print(f"note: {what}: int8 accuracy gate skipped (export a trained --checkpoint)")
    artifacts, failures = [], []
    for index, (fmt, precision) in enumerate(plan, 1):
        with err.status(f"[{index}/{len(plan)}] exporting {fmt} {precision}..."):
            try:
                artifact = export(
                    net,
                    fmt,
                    precision,
                    calibration,
                    out_dir,
                    val=data.val if trained and data is not None else None,
                    max_drop=max_drop,
                    calibration_pool=pool,
                    recipe=QuantRecipe(float_io=float_io),
                    weights=record,
                    meta=meta,
                    int8_scheme=int8_scheme,
                    device=device,
                )
            except EdgeconvError as exc:
                if len(plan) == 1 or isinstance(exc, DiskFullError):  # nothing else to try, or no room to try it
                    raise
                failures.append(str(exc))
                err.print(f"[red]failed[/]: {fmt} {precision}: {exc}")
                continue
        artifacts.append(artifact)
        err.print(
            f"[{index}/{len(plan)}] {fmt} {precision}: {Path(artifact.path).name} ({artifact.export_seconds:.0f} s)"
        )
    if as_json:
        print_json([a.to_dict() for a in artifacts])
    elif artifacts:
        table = Table(title=f"exported to {Path(out_dir).resolve()}")
        columns = ("format", "precision", "file", "MB", "vs PyTorch: max / mean |diff| / agree", "held-out top-1", "s")
        for column in columns:
            table.add_column(column, justify="right" if column in ("MB", "s") else "left")
        for artifact in artifacts:
            table.add_row(*_row(artifact))
        out.print(table)
        if any(not a.parity.get("top1_agreement_meaningful", True) for a in artifacts):
            out.print("agree n/a: random weights give near-tied logits, so top-1 agreement says nothing there")
    if device is not None:
        for line in int8_hints(model_config(net), {f for f, p in plan if p == "int8"}, device, db):
            err.print(line)
    if failures:
        raise EdgeconvError(failures[0] if len(failures) == 1 else f"{len(failures)} exports failed (see above)")


def _target_device(spec: str, accept_new_host_key: bool) -> dict[str, Any]:
    """The fingerprint of the device the files are for (this machine unless --target names another)."""
    from edgeconv.targets import get_target

    if spec == "local":
        from edgeconv.runtime.device import device_info

        return device_info()
    with err.status(f"reading the CPU of {spec}..."):
        return get_target(spec, accept_new_host_key).device()


def int8_hints(config: dict[str, Any], formats: set[str], device: dict[str, Any], db: str | None) -> list[str]:
    """One line per format where the results database shows int8 slower than fp32 for this model configuration
    on the device (same thread count); nothing when it holds no such pair or no database exists."""
    from edgeconv.results import default_db_path, open_store

    if not Path(db or default_db_path()).expanduser().is_file():
        return []
    hints = []
    with open_store(db, create=False) as store:
        for fmt in sorted(formats):
            medians = store.precision_latencies(
                device["device_id"], config["model"], config["width"], config["resolution"], fmt
            )
            for (precision, threads), int8_ms in sorted(medians.items()):
                fp32_ms = medians.get(("fp32", threads))
                if precision == "int8" and fp32_ms is not None and int8_ms > fp32_ms:
                    hints.append(
                        f"hint: on {device['hostname']} ({device['device_id']}) {fmt} int8 measured slower than fp32 "
                        f"for {config['model']} w{config['width']:g} r{config['resolution']}: {int8_ms:.3f} vs "
                        f"{fp32_ms:.3f} ms p50 at {threads} thread(s); `edgeconv sweep --format all --precision "
                        "fp32,int8` finds the fastest runtime and precision"
                    )
    return hints
