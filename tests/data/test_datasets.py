"""Datasets and the shared preprocessing: the built-in digits, ImageFolder trees, and bad data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeconv.data import load_data
from edgeconv.errors import UsageError
from edgeconv.runtime.preprocess import Preprocessing


@pytest.fixture(scope="module")
def digit_scans() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.round(digits.images * 255 / 16).astype(np.uint8), digits.target


def write_folder(root: Path, scans: np.ndarray, labels: np.ndarray, per_class: int = 6) -> None:
    """Real digit scans saved as PNG files, one sub-directory per class."""
    for label in range(3):
        folder = root / f"digit_{label}"
        folder.mkdir(parents=True)
        for i, index in enumerate(np.flatnonzero(labels == label)[:per_class]):
            Image.fromarray(scans[index]).save(folder / f"{i}.png")


def test_digits_split_is_stratified_seeded_and_prepared() -> None:
    data = load_data("digits", 32)
    assert len(data.train) + len(data.val) == 1797
    assert len(data.val) == pytest.approx(1797 * 0.2, abs=10)
    assert data.train.images.shape[1:] == (32, 32, 3) and data.train.images.dtype == np.uint8
    assert data.class_names == [str(d) for d in range(10)]
    val_counts = np.bincount(data.val.labels, minlength=10)
    assert val_counts.min() >= 34 and val_counts.max() <= 38  # every class held out in proportion
    again = load_data("digits", 32)
    assert np.array_equal(again.val.images, data.val.images)
    other = load_data("digits", 32, seed=1)
    assert not np.array_equal(other.val.labels, data.val.labels)
    assert data.source == {"kind": "digits", "split": "seeded", "seed": 0, "val_fraction": 0.2}


def test_preprocessing_normalises_and_lays_out_like_the_definition() -> None:
    pre = Preprocessing(4)
    image = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3) * 5
    x = pre.normalize(image)
    assert x.shape == (1, 3, 4, 4) and x.dtype == np.float32
    expected = (image[1, 2, 0] / 255 - 0.485) / 0.229
    assert x[0, 0, 1, 2] == pytest.approx(expected, rel=1e-6)
    nhwc = pre.with_layout("NHWC").normalize(image)
    assert np.array_equal(nhwc.transpose(0, 3, 1, 2), x)
    assert Preprocessing.from_dict(pre.to_dict()) == pre


def test_prepare_resizes_the_shorter_side_and_centre_crops() -> None:
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, 20:40] = 255  # a white centre third
    out = Preprocessing(10).prepare(Image.fromarray(wide))
    assert out.shape == (10, 10, 3)
    assert out[:, 2:8].min() > 200  # the centre survives the crop, the black sides mostly do not
    gray = Preprocessing(16).prepare(np.full((8, 8), 128, np.uint8))
    assert gray.shape == (16, 16, 3) and np.all(gray == 128)


def test_imagefolder_with_seeded_split(tmp_path: Path, digit_scans: tuple[np.ndarray, np.ndarray]) -> None:
    write_folder(tmp_path / "ds", *digit_scans)
    data = load_data(str(tmp_path / "ds"), 32, val_fraction=0.5)
    assert data.class_names == ["digit_0", "digit_1", "digit_2"]
    assert len(data.train) == len(data.val) == 9
    assert data.source["split"] == "seeded"
    scans, labels = digit_scans
    first = Preprocessing(32).prepare(scans[np.flatnonzero(labels == 0)[0]])
    assert any(np.array_equal(first, img) for img in [*data.train.images, *data.val.images])


def test_imagefolder_with_train_and_val_directories(tmp_path: Path, digit_scans: tuple[np.ndarray, np.ndarray]) -> None:
    write_folder(tmp_path / "ds" / "train", *digit_scans, per_class=5)
    write_folder(tmp_path / "ds" / "val", *digit_scans, per_class=2)
    data = load_data(str(tmp_path / "ds"), 32)
    assert (len(data.train), len(data.val)) == (15, 6)
    assert data.source["split"] == "directories"


def test_bad_datasets_are_refused(tmp_path: Path, digit_scans: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_data(str(tmp_path / "missing"), 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="needs at least two class sub-directories"):
        load_data(str(tmp_path / "empty"), 32)
    write_folder(tmp_path / "hollow", *digit_scans)
    (tmp_path / "hollow" / "digit_9").mkdir()
    with pytest.raises(UsageError, match="digit_9 holds no images"):
        load_data(str(tmp_path / "hollow"), 32)
    write_folder(tmp_path / "broken", *digit_scans)
    (tmp_path / "broken" / "digit_1" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(UsageError, match=r"cannot read image .*bad\.png"):
        load_data(str(tmp_path / "broken"), 32)
    with pytest.raises(UsageError, match="val fraction"):
        load_data("digits", 32, val_fraction=1.5)
