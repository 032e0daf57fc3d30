"""Fuzzed datasets and checkpoints (hypothesis, seeded): a bad ImageFolder tree or a bad ``.pt`` file given to
train, eval or export is one line on stderr naming the file or directory, exit status 1 or 2, no traceback,
nothing created, the results database untouched. Images in unusual but valid modes (grayscale, CMYK, 16-bit,
float) are read, and read right.

The fast part of the reliability suite; benchmarks/reliability.py runs the same properties by the thousand.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from fuzzing import assert_clean_error, fresh, fuzz_settings, record, run_cli
from hypothesis import given, seed
from hypothesis import strategies as st
from PIL import Image
from tiny_artifacts import TEST_MODEL

from edgeconv.data import load_data
from edgeconv.models import create_model

FUZZ = fuzz_settings(25)
NAME = st.text(alphabet=st.characters(whitelist_categories=["L", "N", "Zs"]), min_size=1, max_size=10).filter(
    lambda t: t.strip() == t and not t.startswith(".")
)


# -- datasets --------------------------------------------------------------------------------------------------
def png_bytes(rng: np.random.Generator, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (12, 12), dtype=np.uint8)).convert(mode).save(buffer, "PNG")
    return buffer.getvalue()


BROKEN = ["random bytes", "zero bytes", "truncated png", "text", "png header only", "huge declared size"]


def broken_image(kind: str, rng: np.random.Generator) -> bytes:
    good = png_bytes(rng)
    return {
        "random bytes": rng.integers(0, 256, 64, dtype=np.uint8).tobytes(),
        "zero bytes": b"",
        "truncated png": good[: len(good) // 2],
        "text": b"not an image\n",
        "png header only": good[:8],
        "huge declared size": _huge_png(),
    }[kind]


def _huge_png() -> bytes:
    """A valid PNG declaring 100000 x 100000 pixels: PIL's decompression-bomb check raises an error that is not
    an OSError (it was a traceback)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


DATASET_FAULTS = [
    "broken image", "empty class", "no image files", "one class", "empty root", "symlink loop class",
    "only a symlink loop", "root is a file", "missing",
]  # fmt: skip


@st.composite
def bad_datasets(draw: st.DrawFn, base: Path) -> tuple[Path, tuple[str, ...]]:
    """(dataset root, what the error may name): a tree with exactly one thing wrong."""
    root = fresh(base) / draw(NAME)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    classes = draw(st.lists(NAME, min_size=2, max_size=3, unique_by=str.casefold))
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(draw(st.integers(1, 3))):
            (root / name / f"{i}.png").write_bytes(png_bytes(rng))
    fault = draw(st.sampled_from(DATASET_FAULTS))
    victim = root / classes[0]
    if fault == "broken image":
        kind = draw(st.sampled_from(BROKEN))
        bad = victim / f"{draw(NAME)}.{draw(st.sampled_from(['png', 'jpg', 'gif', 'tiff']))}"
        bad.write_bytes(broken_image(kind, rng))
        return root, (bad.name,)
    if fault in ("empty class", "no image files", "only a symlink loop"):
        for file in victim.iterdir():
            file.unlink()
        if fault == "no image files":
            (victim / "notes.txt").write_text("labels\n")
        if fault == "only a symlink loop":
            os.symlink("loop.png", victim / "loop.png")
        return root, (victim.name,)
    if fault == "one class":
        for name in classes[1:]:
            for file in (root / name).iterdir():
                file.unlink()
            (root / name).rmdir()
        return root, (root.name,)
    if fault == "symlink loop class":  # a loop is not a class; the others remain valid, so give only one
        for name in classes[1:]:
            for file in (root / name).iterdir():
                file.unlink()
            (root / name).rmdir()
        os.symlink("loop", root / "loop")
        return root, (root.name,)
    for name in classes:
        for file in (root / name).iterdir():
            file.unlink()
        (root / name).rmdir()
    if fault == "root is a file":
        root.rmdir()
        root.write_bytes(b"x")
    elif fault == "missing":
        root.rmdir()
    return root, (root.name,)


@pytest.fixture
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzzdata")


@seed(14)
@FUZZ
@given(data=st.data())
def test_bad_datasets(base: Path, data: st.DataObject) -> None:
    root, names = data.draw(bad_datasets(base))
    tmp = fresh(base)
    code, stderr = run_cli(tmp, "train", "--model", "mobilenetv2", "--width", "0.35", "--resolution", "32",
                       "--epochs", "1", "--data", str(root), "--out", str(tmp / "out"))  # fmt: skip
    assert_clean_error(tmp, code, stderr, names)
    code, stderr = run_cli(tmp, "eval", str(TEST_MODEL), "--data", str(root))
    assert_clean_error(tmp, code, stderr, names)


def test_a_decompression_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        (root / label / "ok.png").write_bytes(png_bytes(np.random.default_rng(0)))
    (root / "a" / "bomb.png").write_bytes(_huge_png())
    tmp = fresh(tmp_path)
    code, stderr = run_cli(tmp, "eval", str(TEST_MODEL), "--data", str(root))
    assert_clean_error(tmp, code, stderr, ("bomb.png",))
    assert "decompression bomb" in stderr


def test_images_in_unusual_modes_are_read_as_their_eight_bit_values(tmp_path: Path) -> None:
    """16-bit PNGs were clipped to white by PIL's RGB conversion (a defect found here); every mode now gives the
    8-bit value it stands for."""
    ramp = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    writers = {
        "gray8.png": lambda p: Image.fromarray((ramp * 255).round().astype(np.uint8)).save(p),
        "gray16.png": lambda p: Image.fromarray((ramp * 65535).round().astype(np.uint16)).save(p),
        "float.tiff": lambda p: Image.fromarray(ramp.astype(np.float32)).save(p),
        "cmyk.jpg": lambda p: Image.fromarray((ramp * 255).round().astype(np.uint8)).convert("CMYK").save(p),
        "palette.png": lambda p: Image.fromarray((ramp * 255).round().astype(np.uint8)).convert("P").save(p),
        "rgba.png": lambda p: Image.fromarray((ramp * 255).round().astype(np.uint8)).convert("RGBA").save(p),
    }
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for name, write in writers.items():
            write(tmp_path / label / name)
    data = load_data(str(tmp_path), 32, val_fraction=0.5)
    images = np.concatenate([data.train.images, data.val.images]).astype(float)
    assert images.shape == (12, 32, 32, 3)
    means = images.mean(axis=(1, 2, 3))
    assert np.all(np.abs(means - 127.5) < 3), means  # a clipped 16-bit image had a mean of 254


# -- checkpoints -----------------------------------------------------------------------------------------------
def _payload() -> dict:
    return torch.load(TEST_MODEL, map_location="cpu", weights_only=True)


JUNK = st.one_of(
    st.none(), st.text(max_size=5), st.floats(), st.integers(-5, 10**6), st.lists(st.integers(), max_size=2)
)


class NotAStateDict:
    pass


@st.composite
def bad_checkpoints(draw: st.DrawFn) -> bytes:
    fault = draw(st.sampled_from(["config value", "config missing", "state of another width", "state of another "
                                  "family", "state not tensors", "empty state", "header", "version", "plain state "
                                  "dict", "not a dict", "a class pickle", "truncated", "zero bytes", "random bytes",
                                  "zip of other files"]))  # fmt: skip
    payload = _payload()
    if fault == "config value":
        key = draw(st.sampled_from(["model", "width", "num_classes", "resolution"]))
        value = draw(JUNK.filter(lambda v: v != payload["config"][key]))
        payload["config"] = {**payload["config"], key: value}
    elif fault == "config missing":
        del payload["config"]
    elif fault == "state of another width":
        width = draw(st.sampled_from([0.5, 0.75, 1.0]))
        payload["state_dict"] = create_model("mobilenetv2", width, 10, 32).state_dict()
    elif fault == "state of another family":
        payload["state_dict"] = create_model(draw(st.sampled_from(["mnasnet", "resnet18"])), 0.5, 10, 32).state_dict()
    elif fault == "state not tensors":
        payload["state_dict"] = {k: draw(JUNK) for k in list(payload["state_dict"])[:3]}
    elif fault == "empty state":
        payload["state_dict"] = {}
    elif fault == "header":
        payload["format"] = draw(st.text(max_size=8))
    elif fault == "version":
        payload["version"] = draw(st.integers(2, 10**6))
    elif fault == "plain state dict":
        payload = payload["state_dict"]
    elif fault == "not a dict":
        payload = draw(st.sampled_from([[1, 2], "text", torch.zeros(3)]))
    elif fault == "a class pickle":
        return pickle.dumps(NotAStateDict())
    raw = io.BytesIO()
    torch.save(payload, raw)
    data = raw.getvalue()
    if fault == "truncated":
        return data[: draw(st.integers(0, len(data) - 1))]
    if fault == "zero bytes":
        return b""
    if fault == "random bytes":
        return draw(st.binary(min_size=1, max_size=256))
    if fault == "zip of other files":
        raw = io.BytesIO()
        with zipfile.ZipFile(raw, "w") as archive:
            archive.writestr("data.pkl", draw(st.binary(max_size=64)))
        return raw.getvalue()
    return data


@seed(14)
@FUZZ
@given(content=bad_checkpoints(), name=NAME)
def test_bad_checkpoints(base: Path, content: bytes, name: str) -> None:
    tmp = fresh(base)
    path = tmp / f"{name}.pt"
    path.write_bytes(content)
    for command in (
        ["export", "--checkpoint", str(path), "--format", "onnx", "--out", str(tmp / "out")],
        ["eval", str(path)],
        ["train", "--model", "mobilenetv2", "--width", "0.35", "--resolution", "32", "--epochs", "1",
         "--weights", str(path), "--out", str(tmp / "out")],
        ["train", "--model", "mobilenetv2", "--width", "0.35", "--resolution", "32", "--epochs", "1",
         "--teacher", str(path), "--out", str(tmp / "out")],
    ):  # fmt: skip
        code, stderr = run_cli(tmp, *command)
        if code == 0:  # still usable: a plain state dict as --weights, a config resolution the weights do not fix
            record("ran")
            shutil.rmtree(tmp / "out", ignore_errors=True)
            (tmp / "db.sqlite").unlink(missing_ok=True)
            continue
        assert_clean_error(tmp, code, stderr, (path.name,))
