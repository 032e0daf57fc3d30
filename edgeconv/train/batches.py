"""From prepared uint8 images to normalised float batches, the torch side of the shared preprocessing, through
``torch.utils.data``: ``Batches`` maps a batch number to its tensors (decoding streamed files, augmenting and
normalising, in the loader's worker processes when there are any), ``load`` iterates them.

A batch is cut from one seeded order of the whole split; under torchrun each process takes its equal share of
every batch, so that N processes together see exactly the batch one process would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from edgeconv.data import ImageSet
from edgeconv.errors import UsageError
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.train.augment import augment

MAX_WORKERS = 8


def to_tensor(images: np.ndarray, preprocessing: Preprocessing) -> torch.Tensor:
    """uint8 NHWC -> normalised float NCHW, exactly ``Preprocessing.normalize``."""
    return _normalise(_unit(images), preprocessing)


def _unit(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


def _mean(preprocessing: Preprocessing) -> torch.Tensor:
    return torch.tensor(preprocessing.mean).view(1, 3, 1, 1)


def _std(preprocessing: Preprocessing) -> torch.Tensor:
    return torch.tensor(preprocessing.std).view(1, 3, 1, 1)


def _normalise(x: torch.Tensor, preprocessing: Preprocessing) -> torch.Tensor:
    return (x - _mean(preprocessing)) / _std(preprocessing)


def default_workers(data: ImageSet) -> int:
    """Loader processes: none for images in memory (slicing an array is faster than handing it to a process),
    else one per core beside the training process, at most ``MAX_WORKERS``."""
    if not data.streamed:
        return 0
    return max(1, min(MAX_WORKERS, (os.cpu_count() or 1) - 1))


class Batches(torch.utils.data.Dataset):
    """Batch number -> (images, labels) of ``data``: shuffled per epoch and augmented by ``policy`` when
    ``shuffle``, else in order; ``rank``'s share of each batch out of ``world`` processes."""

    def __init__(
        self,
        data: ImageSet,
        preprocessing: Preprocessing,
        batch_size: int,
        policy: str = "none",
        seed: int = 0,
        shuffle: bool = False,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.data, self.preprocessing, self.batch_size = data, preprocessing, batch_size
        self.policy, self.seed, self.shuffle, self.rank, self.world = policy, seed, shuffle, rank, world
        self.epoch = 0
        self.order = np.arange(len(data))

    def set_epoch(self, epoch: int) -> None:
        """The epoch's order (and augmentation seeds): the same in every process."""
        self.epoch = epoch
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, epoch]).permutation(len(self.data))

    def __len__(self) -> int:
        return -(-len(self.data) // self.batch_size)

    def share(self, batch: int) -> np.ndarray:
        """Indices of this process's part of batch ``batch``: equal parts when training (the remainder of an
        uneven last batch is left out), every image exactly once when evaluating."""
        indices = self.order[batch * self.batch_size : (batch + 1) * self.batch_size]
        if not self.shuffle:
            return np.array_split(indices, self.world)[self.rank]
        part = len(indices) // self.world
        return indices[self.rank * part : (self.rank + 1) * part]

    def __getitem__(self, batch: int) -> tuple[torch.Tensor, torch.Tensor] | tuple[str, str]:
        indices = self.share(batch)
        try:
            x = _unit(self.data.images[indices])
        except UsageError as exc:  # an undecodable file: raised again, one line, in the training process
            return ("error", str(exc))
        if self.shuffle and self.policy != "none":
            x = augment(x, self.policy, [np.random.default_rng([self.seed, self.epoch, int(i)]) for i in indices])
        labels = torch.from_numpy(self.data.labels[indices])
        if torch.utils.data.get_worker_info() is None:
            return _normalise(x, self.preprocessing), labels
        # A worker's batch goes to the training process through shared memory: made there directly, as
        # DataLoader's own collate does, rather than copied there when sent.
        shared = torch.empty(x.shape).share_memory_()
        return torch.sub(x, _mean(self.preprocessing), out=shared).div_(_std(self.preprocessing)), labels


def _return_large_blocks(_worker: int) -> None:
    """glibc only: allocations of 1 MiB and more are mapped and unmapped, not kept in the heap. A worker's
    batches are the same few large tensors made and freed over and over; with glibc's adaptive threshold they
    went to the heap and a worker grew by about a batch per batch (2.4 GB over 10,000 images at 128 px)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if sys.platform == "linux" and name:
        libc = ctypes.CDLL(name)
        if hasattr(libc, "mallopt"):
            libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD


def load(batches: Batches, workers: int = 0, pin_memory: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The batches in order, made by ``workers`` loader processes (0: in this one)."""
    loader: Any = torch.utils.data.DataLoader(
        batches,
        batch_size=None,
        num_workers=workers,
        pin_memory=pin_memory,
        prefetch_factor=2 if workers else None,
        worker_init_fn=_return_large_blocks if workers else None,
    )
    for item in loader:
        if isinstance(item[0], str):
            raise UsageError(item[1])
        yield item


def batches(
    data: ImageSet, preprocessing: Preprocessing, batch_size: int, workers: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``data`` in order, unaugmented, in batches of ``batch_size`` (evaluation, BatchNorm recalibration)."""
    return load(Batches(data, preprocessing, batch_size), workers)
