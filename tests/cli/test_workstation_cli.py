"""`edgeconv models` and `edgeconv export` from the command line, including every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BLOCKED_RUN = Path(__file__).parent.parent / "fixtures" / "blocked_run.py"


def assert_one_line_error(result, message: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0], lines[0]


def test_models_json_lists_every_family_with_reference_counts(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("models", "--width", "0.75", "--json")
    assert result.code == 0
    listed = json.loads(result.stdout)
    rows = {r["name"]: r for r in listed}
    assert len(rows) == 33
    groups = [r["group"] for r in listed]
    assert groups == sorted(groups, key=["edge", "baseline"].index)  # edge networks first
    assert rows["resnet18"]["group"] == "baseline" and rows["resnet18"]["widths"] == "(0, 2]"
    assert rows["shufflenetv2"]["widths"] == [0.5, 1.0, 1.5, 2.0]
    assert rows["shufflenetv2"]["error"] == "shufflenetv2 is defined at widths 0.5, 1, 1.5, 2 only, got 0.75"
    assert rows["inception_v3"]["resolution"] == 299 and rows["inception_v3"]["min_resolution"] == 75
    assert rows["mobilenetv2"]["params"] == 2_636_424
    assert rows["mobilenetv2"]["macs"] / 1e6 == pytest.approx(209.1, rel=0.01)
    assert rows["efficientnet_lite0"]["params"] == 3_357_000
    assert rows["efficientnet_lite4"]["resolution"] == 300


def test_models_table(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("models", "--resolution", "160", "--group", "edge")
    assert result.code == 0 and "mnasnet_a1" in result.stdout and "3.505" in result.stdout
    assert "0.5, 1, 1.5, 2" in result.stdout and "resnet18" not in result.stdout
    for args, message in [
        (["--width", "nan"], "width must be a number in (0, 2], got nan"),
        (["--resolution", "16"], "resolution must be an integer >= 32, got 16"),
    ]:
        bad = cli("models", *args)
        assert bad.code == 1 and bad.stdout == "" and bad.stderr.strip().splitlines() == [f"Error: {message}"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "mobilenet_v2"], "unknown model 'mobilenet_v2'; did you mean 'mobilenetv2'?"),
        (["--model", "mobilenetv2", "--width", "0"], "width must be a number in (0, 2], got 0.0"),
        (["--model", "mobilenetv2", "--width", "-1"], "width must be a number in (0, 2]"),
        (["--model", "mobilenetv2", "--width", "nan"], "width must be a number in (0, 2], got nan"),
        (["--model", "mobilenetv2", "--width", "2.5"], "width must be a number in (0, 2]"),
        (["--model", "mobilenetv2", "--resolution", "16"], "resolution must be an integer >= 32"),
        (["--model", "mobilenetv2", "--num-classes", "1"], "num_classes must be an integer >= 2"),
        (["--model", "mobilenetv2", "--format", "onxx"], "unknown export format 'onxx'; did you mean 'onnx'?"),
        (
            ["--model", "mobilenetv2", "--precision", "int4"],
            "unknown precision 'int4' (precisions: fp32, fp16, int8, or all)",
        ),
        (["--model", "mobilenetv2", "--int8", "--calib", "/nonexistent/dir"], "does not exist"),
        (["--width", "0.5"], "give --model NAME"),
    ],
)
def test_bad_export_arguments(cli, tmp_path: Path, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = cli("export", *args, "--out", out)
    assert_one_line_error(result, message)
    assert not out.exists() or list(out.iterdir()) == []


def test_width_must_be_a_number(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("export", "--model", "mobilenetv2", "--width", "wide")
    assert result.code == 2 and "'wide' is not a valid float" in result.stderr


def test_bad_checkpoints(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip archive" * 20)
    foreign = tmp_path / "foreign.pt"
    import torch

    torch.save({"weight": torch.zeros(3)}, foreign)
    truncated = tmp_path / "truncated.pt"
    torch.save({"format": "edgeconv-checkpoint", "version": 1, "state_dict": {"w": torch.zeros(1000)}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    cases = {
        tmp_path / "missing.pt": "no such checkpoint",
        corrupt: "corrupt.pt is not a readable PyTorch checkpoint",
        foreign: "foreign.pt is not an edgeconv checkpoint",
        truncated: "truncated.pt is not a readable PyTorch checkpoint",
    }
    for path, message in cases.items():
        assert_one_line_error(cli("export", "--checkpoint", path, "--out", tmp_path / "out"), message)
    assert not (tmp_path / "out").exists()


def test_checkpoint_conflicting_width_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from edgeconv.checkpoint import save_checkpoint
    from edgeconv.models import create_model

    ckpt = save_checkpoint(tmp_path / "m.pt", create_model("mobilenetv2", 0.5, 4, 32))
    result = cli("export", "--checkpoint", ckpt, "--width", "0.75", "--out", tmp_path / "out")
    assert_one_line_error(result, "--width 0.75 conflicts with the checkpoint, which holds width 0.5")


def test_missing_host_extra_names_the_extra(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(BLOCKED_RUN), "torch", "--", "export", "--model", "mobilenetv2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "edgeconv export needs the 'host' extra" in lines[0]
    assert "pip install 'edgeconv[host]'" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_export_cli_writes_artifact_and_table(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("export", "-m", "mnasnet", "-w", "0.3", "-r", "32", "--num-classes", "3", "-f", "onnx", "-o", tmp_path)
    assert result.code == 0, result.stderr
    assert "vs PyTorch: max / mean |diff| / agree" in result.stdout and "mnasnet_w0.3_r32_fp32.onnx" in result.stdout
    assert "/ n/a" in result.stdout and "random weights give near-tied logits" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mnasnet_w0.3_r32_fp32.onnx",
        "mnasnet_w0.3_r32_fp32.onnx.json",
    ]


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "edgeconv", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and "bench" in proc.stdout and "export" in proc.stdout


def test_export_int8_all_formats_from_cli(cli, trained_checkpoint: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # --max-drop 100 makes the gate accept the first recipe on any CPU, so that --calib-size is what was used
    result = cli(
        "export",
        "--checkpoint",
        trained_checkpoint,
        "--int8",
        "--calib-size",
        "100",
        "--max-drop",
        "100",
        "-o",
        tmp_path,
        "--json",
    )
    assert result.code == 0, result.stderr
    records = {r["format"]: r for r in json.loads(result.stdout)}
    assert set(records) == {"onnx", "tflite", "openvino"}
    for record in records.values():
        assert record["precision"] == "int8" and record["calibration"]["size"] == 100
        assert len(record["accuracy"]["attempts"]) == 1 and record["accuracy"]["recipe"]["method"] == "minmax"
        assert record["accuracy"]["drop_points"] <= 2.0  # 100 images: measured 0.6-0.8 on an AVX2 CPU
    assert "[3/3] openvino int8" in result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            "mobilenetv2_w0.35_r32_int8.onnx",
            "mobilenetv2_w0.35_r32_int8.onnx.json",
            "mobilenetv2_w0.35_r32_int8.tflite",
            "mobilenetv2_w0.35_r32_int8.tflite.json",
            "mobilenetv2_w0.35_r32_int8.xml",
            "mobilenetv2_w0.35_r32_int8.bin",
            "mobilenetv2_w0.35_r32_int8.xml.json",
        ]
    )


def test_export_skips_pairs_a_format_cannot_make(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "export",
        "-m",
        "mobilenetv2",
        "-w",
        "0.25",
        "-r",
        "32",
        "--num-classes",
        "4",
        "--format",
        "onnx,openvino",
        "--precision",
        "fp16",
        "-o",
        tmp_path,
    )
    assert result.code == 0, result.stderr
    assert "note: onnx does not produce fp16; skipped" in result.stderr
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".bin", ".json", ".xml"]
    only_onnx = cli("export", "-m", "mobilenetv2", "--format", "onnx", "--precision", "fp16", "-o", tmp_path)
    assert only_onnx.code == 1 and "none of the formats onnx produces fp16" in only_onnx.stderr


@pytest.mark.parametrize(
    ("resolution", "message"),
    [("16", "resolution must be an integer >= 32, got 16"), ("4096", "resolution must be at most 2048 px")],
)
def test_a_checkpoints_resolution_is_checked_like_a_models(
    cli, trained_checkpoint: Path, tmp_path: Path, resolution: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    # --resolution on a checkpoint once went straight into the model's config, past the family's minimum and the cap
    out = tmp_path / "out"
    result = cli(
        "export", "--checkpoint", trained_checkpoint, "--resolution", resolution, "--format", "onnx", "--out", out
    )
    assert_one_line_error(result, message)
    assert not out.exists() or list(out.iterdir()) == []


def test_a_checkpoint_exports_at_another_resolution(cli, trained_checkpoint: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "export",
        "--checkpoint",
        trained_checkpoint,
        "--resolution",
        "48",
        "--format",
        "onnx",
        "--out",
        tmp_path,
        "--json",
    )
    assert result.code == 0, result.stderr
    (artifact,) = json.loads(result.stdout)
    assert artifact["model"]["resolution"] == 48 and artifact["input"]["shape"] == [1, 3, 48, 48]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["target", "check", "local"], "`target check` is for boards: see `edgeconv info` for this machine"),
        (["target", "setup", "adb://R58M123"], "`target setup` is for boards: install edgeconv here with pip"),
        (["eval", "{tiny}", "--target", "adb://R58M123"], "adb://R58M123 has none (use ssh)"),
    ],
)
def test_a_target_without_the_capability_says_so_in_one_line(
    cli, tiny_onnx: Path, args: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    result = cli(*[str(tiny_onnx) if a == "{tiny}" else a for a in args])
    assert_one_line_error(result, message)
