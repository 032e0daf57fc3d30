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


def _read(files: ImageFiles, progress: Progress | None) -> np.ndarray:
    images = []
    for i, image in enumerate(files):
        images.append(image)
        if progress:
            progress(i + 1, len(files))
    return np.stack(images)


def _in_memory(load: str, num_images: int, preprocessing: Preprocessing) -> bool:
    if load not in LOADS:
        raise UsageError(f"load must be one of {', '.join(LOADS)}, got {load!r}")
    pixels = num_images * preprocessing.resolution**2 * 3
    return load == "memory" or (load == "auto" and pixels <= MEMORY_BUDGET)


def _load_split(
    classes: dict[str, list[Path]],
    names: list[str],
    preprocessing: Preprocessing,
    progress: Progress | None,
    in_memory: bool,
) -> ImageSet:
    files = [(path, names.index(name)) for name, paths in classes.items() for path in paths]
    labels = np.array([label for _, label in files], dtype=np.int64)
    images = ImageFiles([path for path, _ in files], preprocessing)
    return ImageSet(_read(images, progress) if in_memory else images, labels, names)


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
        total = sum(map(len, train_classes.values())) + sum(map(len, val_classes.values()))
        in_memory = _in_memory(load, total, preprocessing)
        train = _load_split(train_classes, names, preprocessing, progress, in_memory)
        val = _load_split(val_classes, names, preprocessing, progress, in_memory)
        by_dirs = {"kind": "imagefolder", "path": str(root.resolve()), "split": "directories"}
        return DataSplits(train, val, preprocessing, by_dirs)
    classes = scan_classes(root)
    names = sorted(classes)
    in_memory = _in_memory(load, sum(map(len, classes.values())), preprocessing)
    everything = _load_split(classes, names, preprocessing, progress, in_memory)
    train_idx, val_idx = stratified_split(everything.labels, val_fraction, seed)
    source: dict[str, Any] = {
        "kind": "imagefolder",
        "path": str(root.resolve()),
        "split": "seeded",
        "seed": seed,
        "val_fraction": val_fraction,
    }
    return DataSplits(everything.subset(train_idx), everything.subset(val_idx), preprocessing, source)
