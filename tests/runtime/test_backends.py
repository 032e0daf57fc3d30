"""The device runtime loads real ONNX files with onnxruntime, reproduces PyTorch, and rejects bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeconv.errors import ArtifactError, UsageError
from edgeconv.runtime import load

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "tiny_reference.npz") as data:
        return {"inputs": data["inputs"], "logits": data["logits"]}


def test_onnx_session_reproduces_pytorch_logits(tiny_onnx: Path, reference: dict[str, np.ndarray]) -> None:
    session = load(tiny_onnx, threads=1)
    assert session.backend == "onnxruntime"
    assert session.input.shape == (1, 3, 32, 32) and session.input.dtype == "float32"
    assert session.output.shape == (1, 10)
    for x, expected in zip(reference["inputs"], reference["logits"], strict=False):
        got = session.run(x)
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
        assert got.argmax() == expected.argmax()


def test_thread_setting_is_recorded(tiny_onnx: Path) -> None:
    assert load(tiny_onnx, threads=2).settings["threads"] == 2
    assert load(tiny_onnx).settings["threads"] == "default"
    spin = load(tiny_onnx, threads=1, spinning=False)
    assert spin.settings["allow_spinning"] is False


def test_wrong_input_shape_and_dtype_are_refused(tiny_onnx: Path) -> None:
    session = load(tiny_onnx, threads=1)
    with pytest.raises(UsageError, match=r"input shape \(1, 3, 64, 64\) does not match"):
        session.run(np.zeros((1, 3, 64, 64), np.float32))
    with pytest.raises(UsageError, match="dtype float64 does not match"):
        session.run(np.zeros((1, 3, 32, 32), np.float64))


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.onnx", "no such model file"),
        (b"", "empty.onnx", "is empty"),
        (b"this is not a protobuf at all" * 10, "garbage.onnx", "not a loadable ONNX model"),
        (b"\x00", "model.pt", "unsupported model file type '.pt'"),
        (b"\x00", "model", "unsupported model file type '(no suffix)'"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, content: bytes | None, name: str, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(path)


def test_truncated_model_is_refused(tiny_onnx: Path) -> None:
    data = tiny_onnx.read_bytes()
    tiny_onnx.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="not a loadable ONNX model"):
        load(tiny_onnx)
