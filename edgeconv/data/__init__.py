"""Datasets: the built-in digits or an ImageFolder directory, prepared with the shared preprocessing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from edgeconv.data.digits import DEFAULT_RESOLUTION as DIGITS_RESOLUTION
from edgeconv.data.digits import load_digits
from edgeconv.data.files import ImageFiles
from edgeconv.data.imagefolder import LOADS, Progress, load_imagefolder
from edgeconv.data.imageset import DataSplits, ImageSet, stratified_split
from edgeconv.errors import UsageError
from edgeconv.runtime.preprocess import Preprocessing

__all__ = [
    "DIGITS_RESOLUTION",
    "LOADS",
    "DataSplits",
    "ImageFiles",
    "ImageSet",
    "load_data",
    "load_data_like",
    "stratified_split",
]


def load_data(
    data: str,
    resolution: int,
    val_fraction: float = 0.2,
    seed: int = 0,
    progress: Progress | None = None,
    load: str = "auto",
) -> DataSplits:
    """``data`` is ``digits`` (built in, always in memory) or the path of an ImageFolder directory, held in
    memory or streamed from disk (``load``: auto, memory or stream; auto streams folders above 1 GiB)."""
    if not (isinstance(val_fraction, float | int) and 0 < val_fraction < 1 and math.isfinite(val_fraction)):
        raise UsageError(f"val fraction must be between 0 and 1, got {val_fraction!r}")
    preprocessing = Preprocessing(resolution)
    if data == "digits":
        return load_digits(preprocessing, val_fraction, seed)
    return load_imagefolder(Path(data), preprocessing, val_fraction, seed, progress, load)


def load_data_like(
    data: str | None, source: dict[str, Any] | None, preprocessing: Preprocessing, load: str = "auto"
) -> DataSplits:
    """The data a checkpoint or artifact was trained on (``source``) unless ``data`` names another,
    split the same way and prepared with ``preprocessing``."""
    source = source or {}
    if data is None:
        if not source:
            raise UsageError("no --data given and the model records no dataset")
        data = "digits" if source.get("kind") == "digits" else str(source.get("path"))
    seed = int(source.get("seed", 0))
    val_fraction = float(source.get("val_fraction", 0.2))
    if data == "digits":
        return load_digits(preprocessing, val_fraction, seed)
    return load_imagefolder(Path(data), preprocessing, val_fraction, seed, load=load)
