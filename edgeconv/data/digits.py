"""The built-in real dataset: scikit-learn's bundled handwritten digits (1,797 8x8 scans, 10 classes).

The scans ship inside scikit-learn, so nothing is downloaded. Each 8x8 image (values 0..16) is scaled
to uint8, upscaled to the model's input size by the shared preprocessing and given three channels.
"""

from __future__ import annotations

import numpy as np

from edgeconv.data.imageset import DataSplits, ImageSet, stratified_split
from edgeconv.errors import require
from edgeconv.runtime.preprocess import Preprocessing

NAME = "digits"
# The 8x8 scans carry no detail beyond this; larger inputs only cost time.
DEFAULT_RESOLUTION = 48


def load_digits(preprocessing: Preprocessing, val_fraction: float = 0.2, seed: int = 0) -> DataSplits:
    """Both splits of the digits, prepared at ``preprocessing.resolution``."""
    datasets = require("sklearn.datasets", "host", "the built-in digits dataset")
    digits = datasets.load_digits()
    scans = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    images = np.stack([preprocessing.prepare(scan) for scan in scans])
    labels = digits.target.astype(np.int64)
    everything = ImageSet(images, labels, [str(d) for d in range(10)])
    train_idx, val_idx = stratified_split(labels, val_fraction, seed)
    source = {"kind": NAME, "split": "seeded", "seed": seed, "val_fraction": val_fraction}
    return DataSplits(everything.subset(train_idx), everything.subset(val_idx), preprocessing, source)
