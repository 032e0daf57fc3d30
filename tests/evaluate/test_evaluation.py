"""Evaluation of checkpoints and ONNX artifacts on held-out digits; the numbers agree and are stored."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from edgeconv.checkpoint import read_checkpoint


@pytest.fixture(scope="module")
def exported_onnx(trained_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edgeconv.checkpoint import load_checkpoint, weights_record
    from edgeconv.exporters import export

    model, meta = load_checkpoint(trained_checkpoint)
    out = tmp_path_factory.mktemp("onnx")
    artifact = export(model, "onnx", "fp32", None, out, weights=weights_record(trained_checkpoint), meta=meta)
    return Path(artifact.path)


def test_sidecar_carries_preprocessing_dataset_and_classes(exported_onnx: Path) -> None:
    record = json.loads(exported_onnx.with_name(exported_onnx.name + ".json").read_text())
    assert record["preprocessing"]["resolution"] == 32 and record["preprocessing"]["layout"] == "NCHW"
    assert record["preprocessing"]["mean"] == [0.485, 0.456, 0.406]
    assert record["dataset"]["kind"] == "digits" and record["class_names"][3] == "3"


def test_onnx_artifact_matches_its_checkpoint(cli, trained_checkpoint: Path, exported_onnx: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("eval", trained_checkpoint, exported_onnx, "--json")
    assert result.code == 0, result.stderr
    ckpt, onnx = json.loads(result.stdout)
    assert ckpt["kind"] == "checkpoint" and onnx["kind"] == "artifact" and onnx["format"] == "onnx"
    assert ckpt["num_images"] == onnx["num_images"] == 359
    assert onnx["top1"] == ckpt["top1"] and onnx["top5"] == ckpt["top5"]
    assert ckpt["top1"] == pytest.approx(read_checkpoint(trained_checkpoint)["meta"]["metrics"]["val_top1"])
    assert onnx["confusion"] == ckpt["confusion"]
    assert np.trace(np.array(ckpt["confusion"])) == round(ckpt["top1"] * 359)
    assert onnx["agreement"]["top1_agreement"] == 1.0
    assert onnx["agreement"]["max_abs_logit_diff"] < 1e-4
    assert onnx["agreement"]["reference"] == str(trained_checkpoint.resolve())
    db = sqlite3.connect(Path(os.environ["EDGECONV_DB"]))
    rows = db.execute("SELECT kind, format, top1, top1_agreement FROM evaluations ORDER BY id").fetchall()
    assert rows == [("checkpoint", "pytorch", ckpt["top1"], None), ("artifact", "onnx", onnx["top1"], 1.0)]


def test_eval_table_and_confusion(cli, exported_onnx: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("eval", exported_onnx, "--no-store")
    assert result.code == 0, result.stderr
    assert "held-out accuracy (359 images of digits)" in result.stdout and "confusion matrix" in result.stdout


def test_eval_bad_inputs(cli, tmp_path: Path, exported_onnx: Path) -> None:  # type: ignore[no-untyped-def]
    bare = tmp_path / "bare.onnx"
    bare.write_bytes(exported_onnx.read_bytes())
    cases = [
        ((tmp_path / "nope.onnx",), "no such file"),
        ((bare,), "bare.onnx has no sidecar"),
        ((tmp_path / "nope.pt",), "no such checkpoint"),
        ((exported_onnx, "--data", tmp_path / "nothing"), "does not exist"),
    ]
    for args, message in cases:
        result = cli("eval", *args)
        assert result.code == 1, result.stdout
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_train_cli_end_to_end_and_bad_data(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("train", "-m", "mobilenetv2", "-w", "0.25", "--epochs", "1", "--out", tmp_path / "run", "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert Path(summary["checkpoint"]).is_file() and summary["dataset"]["num_val"] == 359
    assert "epoch   1/1:" in result.stderr
    (tmp_path / "empty").mkdir()
    bad = cli("train", "-m", "mobilenetv2", "--data", tmp_path / "empty", "--out", tmp_path / "run2")
    assert bad.code == 1 and "needs at least two class sub-directories" in bad.stderr
    assert not (tmp_path / "run2").exists()
    wrong = cli("train", "-m", "mobilenetv2", "-w", "3")
    assert wrong.code == 1 and "width must be a number in (0, 2]" in wrong.stderr
