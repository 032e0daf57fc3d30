"""ONNX export: a real file that onnxruntime runs with PyTorch's numbers, a complete sidecar, atomic writes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from edgeconv.checkpoint import save_checkpoint
from edgeconv.exporters import Artifact, ParityError, export
from edgeconv.models import create_model
from edgeconv.models.factory import count_params, estimate_batchnorm_statistics

CASES = {
    "mobilenetv2": (0.5, 64),
    "mnasnet_a1": (0.35, 32),  # squeeze-excite
    "efficientnet_lite0": (0.35, 32),  # 5x5 depthwise
}


def structured_images(count: int, resolution: int) -> np.ndarray:
    """Smooth gradients and blobs (not noise), normalised like real images."""
    yy, xx = np.mgrid[0:resolution, 0:resolution] / resolution
    images = []
    for i in range(count):
        base = np.stack([np.sin(3 * xx + i), np.cos(2 * yy - i), ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) * 4 - 1])
        images.append(base[None].astype(np.float32))
    return np.stack(images)


@pytest.fixture(scope="module", params=list(CASES))
def exported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[torch.nn.Module, Artifact]:
    name = request.param
    width, resolution = CASES[name]
    torch.manual_seed(0)
    model = estimate_batchnorm_statistics(create_model(name, width, 10, resolution), resolution)
    out = tmp_path_factory.mktemp(name)
    return model, export(model, "onnx", "fp32", None, out, weights={"source": "random-init"})


def test_onnxruntime_reproduces_pytorch(exported: tuple[torch.nn.Module, Artifact]) -> None:
    model, artifact = exported
    resolution = artifact.model["resolution"]
    session = ort.InferenceSession(artifact.path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(42)
    inputs = [*structured_images(4, resolution), *rng.standard_normal((4, 1, 3, resolution, resolution))]
    with torch.no_grad():
        for x in inputs:
            x = x.astype(np.float32)
            expected = model(torch.from_numpy(x)).numpy()
            got = session.run(None, {"input": x})[0]
            assert np.abs(got - expected).max() <= 1e-4
            assert got.argmax() == expected.argmax()
    assert np.abs(expected).max() > 1e-3  # logits of a realistic scale, so the comparison means something


def test_sidecar_records_the_artifact(exported: tuple[torch.nn.Module, Artifact]) -> None:
    model, artifact = exported
    path = Path(artifact.path)
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["size_bytes"] == path.stat().st_size
    assert record["format"] == "onnx" and record["precision"] == "fp32"
    assert record["model"]["params"] == count_params(model)
    r = artifact.model["resolution"]
    assert record["input"] == {"name": "input", "shape": [1, 3, r, r], "dtype": "float32", "layout": "NCHW"}
    assert record["output"]["shape"] == [1, 10]
    assert record["parity"]["max_abs_diff"] <= 1e-4 and record["parity"]["tolerance"] == 1e-3
    assert record["parity"]["top1_agreement"] == 1.0
    assert set(record["tools"]) >= {"torch", "onnx", "onnxruntime", "edgeconv", "python"}
    assert record["weights"]["source"] == "random-init"
    assert Artifact.load(path) == artifact
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_graph_is_static_and_batchnorm_is_folded(exported: tuple[torch.nn.Module, Artifact]) -> None:
    _, artifact = exported
    graph = onnx.load(artifact.path)
    onnx.checker.check_model(graph)
    dims = [d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, artifact.model["resolution"], artifact.model["resolution"]]
    ops = {node.op_type for node in graph.graph.node}
    assert "BatchNormalization" not in ops and "Conv" in ops


def test_failed_parity_writes_nothing(tmp_path: Path) -> None:
    model = estimate_batchnorm_statistics(create_model("mobilenetv2", 0.25, 10, 32), 32)
    with pytest.raises(ParityError, match="nothing was written"):
        export(model, "onnx", "fp32", None, tmp_path, parity_tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_weights_are_exported(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(1)
    model = create_model("mobilenetv2", 0.35, 5, 32)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    estimate_batchnorm_statistics(model, 32, seed=3)
    ckpt = save_checkpoint(tmp_path / "trained.pt", model, {"note": "test"})
    result = cli("export", "--checkpoint", ckpt, "--format", "onnx", "--out", tmp_path / "out", "--json")
    assert result.code == 0, result.stderr
    (record,) = json.loads(result.stdout)
    assert record["weights"]["source"] == "checkpoint"
    assert record["weights"]["sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert record["model"]["num_classes"] == 5
    x = structured_images(1, 32)[0]
    got = ort.InferenceSession(record["path"], providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, model(torch.from_numpy(x)).numpy(), atol=1e-4, rtol=0)


def test_the_quantizers_own_sessions_do_not_spin() -> None:
    # onnxruntime's quantizer opens sessions with default options (spinning thread pools): beside another busy
    # process one int8 export took 417 s instead of 8 s
    import onnxruntime
    from onnxruntime.quantization import quant_utils

    from edgeconv.exporters.onnx import _sessions_without_spinning

    original = onnxruntime.SessionOptions
    with _sessions_without_spinning():
        for options in (onnxruntime.SessionOptions(), quant_utils.SessionOptions()):
            for pool in ("intra", "inter"):
                assert options.get_session_config_entry(f"session.{pool}_op.allow_spinning") == "0"
    assert onnxruntime.SessionOptions is original and quant_utils.SessionOptions is original
