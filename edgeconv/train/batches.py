"""From prepared uint8 images to normalised float batches, the torch side of the shared preprocessing."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from edgeconv.data import ImageSet
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.train.augment import random_affine


class BatchMaker:
    """Normalises (and optionally augments) batches exactly as ``Preprocessing.normalize`` does."""

    def __init__(self, preprocessing: Preprocessing) -> None:
        self.mean = torch.tensor(preprocessing.mean).view(1, 3, 1, 1)
        self.std = torch.tensor(preprocessing.std).view(1, 3, 1, 1)

    def to_tensor(
        self, images: np.ndarray, generator: torch.Generator | None = None, hflip: bool = False
    ) -> torch.Tensor:
        """uint8 NHWC -> float NCHW, augmented when a generator is given, then normalised."""
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
        if generator is not None:
            x = random_affine(x, generator, hflip=hflip)
        return (x - self.mean) / self.std

    def batches(
        self,
        data: ImageSet,
        batch_size: int,
        generator: torch.Generator | None = None,
        augment: bool = False,
        hflip: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches of ``data`` in order, or shuffled (and augmented if ``augment``) with ``generator``."""
        order = torch.randperm(len(data), generator=generator).numpy() if generator else np.arange(len(data))
        for start in range(0, len(data), batch_size):
            idx = order[start : start + batch_size]
            x = self.to_tensor(data.images[idx], generator if augment else None, hflip)
            yield x, torch.from_numpy(data.labels[idx])
