"""``edgeconv export``: build (or load) a model and export it, with parity checked against PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from edgeconv.cli.common import err, json_flag, out, print_json
from edgeconv.errors import UsageError, require


def _model_from_args(
    checkpoint: str | None, model: str | None, width: float | None, resolution: int | None, num_classes: int | None
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The model to export, the record of where its weights came from, and the checkpoint's metadata."""
    from edgeconv.models import create_model
    from edgeconv.models.factory import estimate_batchnorm_statistics, model_config

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
        if resolution is not None:
            config["resolution"] = resolution  # the same weights run at any input size
        return net, weights_record(checkpoint), meta
    if model is None:
        raise UsageError("give --model NAME (see `edgeconv models`) or --checkpoint PATH")
    net = create_model(model, 1.0 if width is None else width, num_classes or 1000, resolution)
    estimate_batchnorm_statistics(net, model_config(net)["resolution"])
    weights = {
        "source": "random-init",
        "note": "random weights, BatchNorm statistics estimated on noise; for latency measurement only",
    }
    return net, weights, {}


@click.command("export")
@click.option("--model", "-m", default=None, help="Model family, e.g. mobilenetv2 (see `edgeconv models`).")
@click.option("--width", "-w", type=float, default=None, help="Width multiplier in (0, 2]. [default: 1.0]")
@click.option("--resolution", "-r", type=int, default=None, help="Input size in pixels (default: the family's).")
@click.option("--num-classes", type=int, default=None, help="Classifier outputs. [default: 1000]")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    default=None,
    help="Export trained weights from an edgeconv checkpoint (otherwise weights are random).",
)
@click.option("--format", "-f", "format_", default="onnx", show_default=True, help="Output format.")
@click.option("--precision", default="fp32", show_default=True, help="Numeric precision of the artifact.")
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False),
    default="exports",
    show_default=True,
    help="Directory for the artifact and its JSON sidecar.",
)
@json_flag
def export_command(
    model: str | None,
    width: float | None,
    resolution: int | None,
    num_classes: int | None,
    checkpoint: str | None,
    format_: str,
    precision: str,
    out_dir: str,
    as_json: bool,
) -> None:
    """Export a model to a deployable file plus a JSON sidecar (the artifact record).

    The exported file is checked against PyTorch right after export (max absolute logit difference, e.g.
    <= 1e-4 for fp32 ONNX); if it fails, nothing is written. Files are written atomically.

    \b
    Example:
      edgeconv export --model mobilenetv2 --width 0.75 --format onnx --out exports/
    """
    require("torch", "host", "edgeconv export")
    from edgeconv.exporters import export, get_exporter

    spec = get_exporter(format_)
    with err.status(f"exporting to {format_} {precision}..."):
        net, weights, meta = _model_from_args(checkpoint, model, width, resolution, num_classes)
        artifact = export(net, format_, precision, None, Path(out_dir), weights=weights, meta=meta)
    if as_json:
        print_json(artifact.to_dict())
        return
    table = Table(show_header=False, title=f"exported {Path(artifact.path).name}")
    rows = [
        ("file", artifact.path),
        ("sidecar", str(artifact.sidecar)),
        ("format / precision", f"{artifact.format} / {artifact.precision} ({spec.suffix})"),
        (
            "model",
            f"{artifact.model['model']} width {artifact.model['width']:g}, {artifact.model['resolution']} px, "
            f"{artifact.model['num_classes']} classes",
        ),
        ("params / MACs", f"{artifact.model['params'] / 1e6:.3f} M / {artifact.model['macs'] / 1e6:.1f} M"),
        ("weights", artifact.weights["source"]),
        ("size", f"{artifact.size_bytes / 1e6:.2f} MB"),
        ("sha256", artifact.sha256[:16]),
        (
            "parity vs PyTorch",
            f"max |diff| {artifact.parity['max_abs_diff']:.2e} (tolerance "
            f"{artifact.parity['tolerance']:g}), top-1 agreement "
            f"{artifact.parity['top1_agreement']:.0%}",
        ),
        ("export time", f"{artifact.export_seconds:.1f} s"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)
