"""The LiteRT and OpenVINO backends on committed artifacts: same numbers as at export, clear errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from edgeconv.errors import ArtifactError, UsageError
from edgeconv.runtime import BenchSettings, bench, load
from edgeconv.runtime.backends.openvino import OpenVINOSession

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "tiny_reference.npz") as data:
        return {key: data[key] for key in data.files}


def test_tflite_int8_reproduces_the_exported_outputs(tiny_tflite: Path, reference: dict[str, np.ndarray]) -> None:
    session = load(tiny_tflite, threads=1)
    assert session.backend == "litert" and session.backend_version.startswith("ai-edge-litert")
    assert session.input.shape == (1, 32, 32, 3) and session.input.dtype == "int8"
    assert session.input.scale and session.output.scale and session.input_layout() == "NHWC"
    for x, expected in zip(reference["inputs"], reference["tflite_int8_outputs"], strict=True):
        got = session.run(session.input.quantize(x.transpose(0, 2, 3, 1)))
        assert got.dtype == np.int8
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # at most one quantization step
    floats = session.run_float(reference["inputs"][0].transpose(0, 2, 3, 1))
    expected_float = (reference["tflite_int8_outputs"][0].astype(np.float32) - session.output.zero_point) * (
        session.output.scale
    )
    np.testing.assert_allclose(floats, expected_float, atol=session.output.scale * 1.01)


def test_openvino_fp32_reproduces_pytorch(tiny_openvino: Path, reference: dict[str, np.ndarray]) -> None:
    session = load(tiny_openvino, threads=1)
    assert session.backend == "openvino" and session.settings["precision_hint"] == "f32"
    assert session.settings["actual_threads"] == 1 and "f32" in session.settings["execution_precision"]
    for x, expected in zip(reference["inputs"], reference["logits"], strict=True):
        np.testing.assert_allclose(session.run(x), expected, atol=1e-4, rtol=0)


def test_openvino_plugin_timer_sits_inside_the_wall_clock(tiny_openvino: Path) -> None:
    session = load(tiny_openvino, threads=1)
    assert isinstance(session, OpenVINOSession)
    x = np.zeros(session.input.shape, np.float32)
    session.run(x)
    for _ in range(5):
        t0 = time.perf_counter_ns()
        session.run_accepted(x)
        wall_ms = (time.perf_counter_ns() - t0) / 1e6
        assert 0 < session.plugin_latency_ms() <= wall_ms  # the plugin times a part of edgeconv's timed call


def test_openvino_precision_hint_can_be_chosen(tiny_openvino: Path) -> None:
    session = load(tiny_openvino, threads=1, precision_hint="default")
    assert session.settings["precision_hint"] == "default"
    with pytest.raises(UsageError, match="precision hint must be one of"):
        load(tiny_openvino, precision_hint="int4")


def test_bench_runs_every_backend(tiny_tflite: Path, tiny_openvino: Path, tiny_onnx: Path) -> None:
    settings = BenchSettings(warmup_runs=2, warmup_seconds=0, runs=10, min_seconds=0)
    for path, backend, precision in [
        (tiny_tflite, "litert", "int8"),
        (tiny_openvino, "openvino", "fp32"),
        (tiny_onnx, "onnxruntime", "fp32"),
    ]:
        result = bench(path, threads=1, settings=settings)
        assert result.backend["name"] == backend and result.artifact["precision"] == precision
        assert result.runs >= 10 and result.latency_ms.p50 > 0
    assert bench(tiny_openvino, threads=1, settings=settings).artifact["size_bytes"] == (
        tiny_openvino.stat().st_size + tiny_openvino.with_suffix(".bin").stat().st_size
    )


def test_bad_tflite_and_openvino_files(tmp_path: Path, tiny_openvino: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"TFL3" + b"\x00" * 64)
    with pytest.raises(ArtifactError, match="bad.tflite is not a loadable TFLite model"):
        load(bad)
    tiny_openvino.with_suffix(".bin").unlink()
    with pytest.raises(ArtifactError, match="needs its weights file tiny_mobilenetv2_fp32.bin"):
        load(tiny_openvino)
    broken = tmp_path / "broken.xml"
    broken.write_text("<net><layers>")
    broken.with_suffix(".bin").write_bytes(b"")
    with pytest.raises(ArtifactError, match="broken.bin, the weights file of broken.xml, is empty"):
        load(broken)
    broken.with_suffix(".bin").write_bytes(b"\x00" * 64)
    with pytest.raises(ArtifactError, match="broken.xml is not a loadable OpenVINO model"):
        load(broken)  # cut short: OpenVINO's parser refuses it
    broken.write_text("<net><layers></layers></net>")
    with pytest.raises(ArtifactError, match="broken.bin has 64 bytes but broken.xml reads exactly 0"):
        load(broken)
