"""``CalibrationSet``: real images, preprocessed exactly as for evaluation, feeding every int8 quantizer.

The set holds prepared uint8 images and the preprocessing; each quantizer asks for normalised batch-1
arrays in its own layout (NCHW for ONNX and OpenVINO, NHWC for TFLite). Never random noise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeconv.data import DataSplits, load_data_like
from edgeconv.errors import UsageError
from edgeconv.runtime.preprocess import Preprocessing

DEFAULT_SIZE = 300


@dataclass
class CalibrationSet:
    """Prepared uint8 NHWC images and the preprocessing that normalises them."""

    images: np.ndarray
    preprocessing: Preprocessing
    source: dict[str, Any]

    def __len__(self) -> int:
        return len(self.images)

    def arrays(self, layout: str = "NCHW", limit: int | None = None) -> Iterator[np.ndarray]:
        """Normalised float32 batches of one image in ``layout``."""
        pre = self.preprocessing.with_layout(layout)
        for image in self.images[:limit]:
            yield pre.normalize(image)

    @classmethod
    def from_splits(cls, data: DataSplits, size: int = DEFAULT_SIZE, seed: int = 0) -> CalibrationSet:
        """``size`` images drawn (seeded, without replacement) from the training split."""
        if size < 1:
            raise UsageError(f"calibration size must be >= 1, got {size}")
        if len(data.train) == 0:
            raise UsageError("the calibration data holds no images")
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(data.train), size=min(size, len(data.train)), replace=False))
        source = {**data.source, "subset": "train", "size": len(chosen), "seed": seed}
        return cls(data.train.images[chosen], data.preprocessing, source)


def load_calibration(
    calib: str | None, dataset: dict[str, Any] | None, preprocessing: Preprocessing, size: int = DEFAULT_SIZE
) -> tuple[CalibrationSet, DataSplits]:
    """The calibration set from ``calib`` (``digits`` or a directory), else from the model's training data,
    else the built-in digits; also returns the splits, whose held-out part the accuracy gate uses."""
    data = load_data_like(calib or ("digits" if not dataset else None), dataset, preprocessing)
    return CalibrationSet.from_splits(data, size), data
