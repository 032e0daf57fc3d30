"""``ImageSet``: prepared uint8 images (in memory, or files decoded on access) with labels, and the seeded
stratified split used everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeconv.data.files import ImageFiles
from edgeconv.runtime.preprocess import Preprocessing


@dataclass
class ImageSet:
    """Images already resized/cropped by ``Preprocessing.prepare`` (N x R x R x 3 uint8), or the files that
    decode to them (``ImageFiles``, a dataset streamed from disk), and int64 labels."""

    images: np.ndarray | ImageFiles
    labels: np.ndarray
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def streamed(self) -> bool:
        """Whether the images are read from disk when used (rather than held in memory)."""
        return isinstance(self.images, ImageFiles)

    def subset(self, indices: np.ndarray) -> ImageSet:
        images = self.images.take(indices) if isinstance(self.images, ImageFiles) else self.images[indices]
        return ImageSet(images, self.labels[indices], self.class_names)


@dataclass
class DataSplits:
    """Training and held-out images with the preprocessing they were prepared with and their provenance."""

    train: ImageSet
    val: ImageSet
    preprocessing: Preprocessing
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def class_names(self) -> list[str]:
        return self.train.class_names


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices with ``val_fraction`` of every class held out (at least one per class)."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_val = max(1, round(len(members) * val_fraction)) if len(members) > 1 else 0
        val.append(members[:n_val])
        train.append(members[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))
