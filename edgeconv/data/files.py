"""``ImageFiles``: image files decoded on access, for datasets larger than memory.

It stands where an in-memory ``N x R x R x 3`` uint8 array stands (``len``, integer, slice and index-array
access, iteration), and decodes each image with the same ``Preprocessing.prepare`` as the in-memory path, so
both give the same pixels bit for bit. Torch-free: a device evaluates with it too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import UsageError, first_line
from edgeconv.runtime.preprocess import Preprocessing


def decode(path: Path, preprocessing: Preprocessing) -> np.ndarray:
    """One image file, prepared (resized and centre-cropped) to ``resolution x resolution x 3`` uint8."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return preprocessing.prepare(image)
    except Exception as exc:  # PIL's decoders raise OSError, ValueError, SyntaxError, struct.error, bombs...
        raise UsageError(f"cannot read image {path}: {first_line(exc)}") from None


class ImageFiles:
    """Prepared images read from ``paths`` when indexed, never held all at once."""

    def __init__(self, paths: Sequence[Path], preprocessing: Preprocessing) -> None:
        self.paths = list(paths)
        self.preprocessing = preprocessing

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        resolution = self.preprocessing.resolution
        return (len(self.paths), resolution, resolution, 3)

    def take(self, indices: Any) -> ImageFiles:
        """The files at ``indices`` (an index array), still undecoded."""
        return ImageFiles([self.paths[int(i)] for i in np.asarray(indices).reshape(-1)], self.preprocessing)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, int | np.integer):
            return decode(self.paths[int(key)], self.preprocessing)
        chosen = self.paths[key] if isinstance(key, slice) else [self.paths[int(i)] for i in np.asarray(key)]
        if not chosen:
            return np.empty((0, *self.shape[1:]), np.uint8)
        return np.stack([decode(path, self.preprocessing) for path in chosen])

    def __iter__(self) -> Iterator[np.ndarray]:
        return (decode(path, self.preprocessing) for path in self.paths)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every image decoded (what a board that is sent the whole split needs)."""
        images = self[:]
        return images.astype(dtype) if dtype is not None else images
