"""ImageFolder directories: ``root/<class>/*.jpg|png`` with ``train/`` and ``val/`` splits, or one folder
split by seed. Bad data (no classes, an empty class, an undecodable image) raises one clear error.

A folder whose prepared pixels fit ``MEMORY_BUDGET`` is decoded into memory once (the fastest path for small
folders); a larger one is streamed: its images are decoded when used (``ImageFiles``), so memory is bounded by
the batch and the loader's workers, not by the dataset. ``load`` forces either."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.data.files import ImageFiles
from edgeconv.data.imageset import DataSplits, ImageSet, stratified_split
from edgeconv.errors import UsageError
from edgeconv.runtime.preprocess import Preprocessing

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
LOADS = ("auto", "memory", "stream")
MEMORY_BUDGET = 1 << 30  # bytes of prepared uint8 pixels held in memory by load="auto"
Progress = Callable[[int, int], None]


def scan_classes(root: Path) -> dict[str, list[Path]]:
    """Class name -> sorted image files, for every sub-directory of ``root``."""
    if not root.is_dir():
        raise UsageError(f"dataset directory {root} does not exist (or is not a directory)")
    classes = {}
    for class_dir in sorted(p for p in _entries(root) if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in _entries(class_dir) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise UsageError(f"class directory {class_dir} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        classes[class_dir.name] = files
    if len(classes) < 2:
        raise UsageError(f"{root} needs at least two class sub-directories of images, found {len(classes)}")
    return classes


def _entries(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except OSError as exc:
        raise UsageError(f"cannot read dataset directory {directory}: {exc.strerror}") from None


def _read(images: ImageSet, progress: Progress | None) -> ImageSet:
    """``images`` decoded into one preallocated array (the pixels once, never a list and a copy of it)."""
    files = images.images
    assert isinstance(files, ImageFiles)
    pixels = np.empty(files.shape, np.uint8)
    for i, image in enumerate(files):
        pixels[i] = image
        if progress:
            progress(i + 1, len(files))
    return ImageSet(pixels, images.labels, images.class_names)


def _in_memory(load: str, num_images: int, preprocessing: Preprocessing) -> bool:
    if load not in LOADS:
        raise UsageError(f"load must be one of {', '.join(LOADS)}, got {load!r}")
    pixels = num_images * preprocessing.resolution**2 * 3
    return load == "memory" or (load == "auto" and pixels <= MEMORY_BUDGET)


def _files(classes: dict[str, list[Path]], names: list[str], preprocessing: Preprocessing) -> ImageSet:
    """The images of ``classes``, undecoded, labelled by their class's index in ``names``."""
    files = [(path, names.index(name)) for name, paths in classes.items() for path in paths]
    labels = np.array([label for _, label in files], dtype=np.int64)
    return ImageSet(ImageFiles([path for path, _ in files], preprocessing), labels, names)


def _splits(train: ImageSet, val: ImageSet, load: str, progress: Progress | None, source: dict[str, Any]) -> DataSplits:
    files = train.images
    assert isinstance(files, ImageFiles)
    if _in_memory(load, len(train) + len(val), files.preprocessing):
        train, val = _read(train, progress), _read(val, progress)
    return DataSplits(train, val, files.preprocessing, source)


def load_imagefolder(
    root: Path,
    preprocessing: Preprocessing,
    val_fraction: float = 0.2,
    seed: int = 0,
    progress: Progress | None = None,
    load: str = "auto",
) -> DataSplits:
    """Both splits of an ImageFolder tree, prepared at ``preprocessing.resolution``, in memory or streamed
    (``load``: auto, memory or stream)."""
    root = Path(root)
    if (root / "train").is_dir() and (root / "val").is_dir():
        train_classes, val_classes = scan_classes(root / "train"), scan_classes(root / "val")
        if set(val_classes) - set(train_classes):
            extra = sorted(set(val_classes) - set(train_classes))[0]
            raise UsageError(f"{root / 'val'} has class {extra!r} that {root / 'train'} lacks")
        names = sorted(train_classes)
        train, val = _files(train_classes, names, preprocessing), _files(val_classes, names, preprocessing)
        by_dirs = {"kind": "imagefolder", "path": str(root.resolve()), "split": "directories"}
        return _splits(train, val, load, progress, by_dirs)
    classes = scan_classes(root)
    everything = _files(classes, sorted(classes), preprocessing)
    train_idx, val_idx = stratified_split(everything.labels, val_fraction, seed)
    source: dict[str, Any] = {
        "kind": "imagefolder",
        "path": str(root.resolve()),
        "split": "seeded",
        "seed": seed,
        "val_fraction": val_fraction,
    }
    return _splits(everything.subset(train_idx), everything.subset(val_idx), load, progress, source)
