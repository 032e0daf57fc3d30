"""ImageFolder directories: ``root/<class>/*.jpg|png`` with ``train/`` and ``val/`` splits, or one folder
split by seed. Bad data (no classes, an empty class, an undecodable image) raises one clear error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.data.imageset import DataSplits, ImageSet, stratified_split
from edgeconv.errors import UsageError, first_line
from edgeconv.runtime.preprocess import Preprocessing

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
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


def _read(files: list[tuple[Path, int]], preprocessing: Preprocessing, progress: Progress | None) -> np.ndarray:
    from PIL import Image

    images = []
    for i, (path, _) in enumerate(files):
        try:
            with Image.open(path) as image:
                images.append(preprocessing.prepare(image))
        except Exception as exc:  # PIL's decoders raise OSError, ValueError, SyntaxError, struct.error, bombs...
            raise UsageError(f"cannot read image {path}: {first_line(exc)}") from None
        if progress:
            progress(i + 1, len(files))
    return np.stack(images)


def _load_split(
    classes: dict[str, list[Path]], names: list[str], preprocessing: Preprocessing, progress: Progress | None
) -> ImageSet:
    files = [(path, names.index(name)) for name, paths in classes.items() for path in paths]
    labels = np.array([label for _, label in files], dtype=np.int64)
    return ImageSet(_read(files, preprocessing, progress), labels, names)


def load_imagefolder(
    root: Path, preprocessing: Preprocessing, val_fraction: float = 0.2, seed: int = 0, progress: Progress | None = None
) -> DataSplits:
    """Both splits of an ImageFolder tree, prepared at ``preprocessing.resolution``."""
    root = Path(root)
    if (root / "train").is_dir() and (root / "val").is_dir():
        train_classes, val_classes = scan_classes(root / "train"), scan_classes(root / "val")
        if set(val_classes) - set(train_classes):
            extra = sorted(set(val_classes) - set(train_classes))[0]
            raise UsageError(f"{root / 'val'} has class {extra!r} that {root / 'train'} lacks")
        names = sorted(train_classes)
        train = _load_split(train_classes, names, preprocessing, progress)
        val = _load_split(val_classes, names, preprocessing, progress)
        by_dirs = {"kind": "imagefolder", "path": str(root.resolve()), "split": "directories"}
        return DataSplits(train, val, preprocessing, by_dirs)
    classes = scan_classes(root)
    names = sorted(classes)
    everything = _load_split(classes, names, preprocessing, progress)
    train_idx, val_idx = stratified_split(everything.labels, val_fraction, seed)
    source: dict[str, Any] = {
        "kind": "imagefolder",
        "path": str(root.resolve()),
        "split": "seeded",
        "seed": seed,
        "val_fraction": val_fraction,
    }
    return DataSplits(everything.subset(train_idx), everything.subset(val_idx), preprocessing, source)
