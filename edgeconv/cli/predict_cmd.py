"""``edgeconv predict`` (plumbing, device side): an artifact's logits for prepared images, as one JSON line.

``eval --target`` copies the artifact and its held-out images (prepared as for evaluation) to the board and
reads this back; the workstation computes the metrics.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("predict", hidden=True)
@click.argument("model_file", type=click.Path(dir_okay=False, exists=True))
@click.argument("images", type=click.Path(dir_okay=False, exists=True))
def predict_command(model_file: str, images: str) -> None:
    """Logits of MODEL_FILE for the prepared images in IMAGES (see edgeconv.runtime.exchange)."""
    from edgeconv.evaluate import artifact_logits
    from edgeconv.runtime import device_info
    from edgeconv.runtime.exchange import decode_images, encode_logits
    from edgeconv.runtime.preprocess import Preprocessing

    prepared, preprocessing = decode_images(images)
    logits = artifact_logits(Path(model_file), prepared, Preprocessing.from_dict(preprocessing))
    click.echo(encode_logits(logits, device_info()))
