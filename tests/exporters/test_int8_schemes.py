"""int8 schemes: the fast one for each CPU chosen by ``auto``, each explicit one what it says in the file, a
scheme a format does not offer refused in one line, and the hint when stored measurements show int8 slower."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from onnx_graph import onnx_int8_graph

from edgeconv.errors import UsageError
from edgeconv.exporters import export
from edgeconv.runtime.formats import get_format

AUTO = {  # int8 path -> (onnx, tflite, openvino) scheme
    "amx": ("u8s8", "s8s8", "nncf"),
    "avx512-vnni": ("u8s8", "s8s8", "nncf"),
    "avx-vnni": ("u8s8", "s8s8", "nncf"),
    "avx2": ("u8s8-7bit", "s8s8", "nncf-7bit"),
    "neon-i8mm": ("s8s8", "s8s8", "nncf"),
    "neon-dotprod": ("s8s8", "s8s8", "nncf"),
    "neon": ("s8s8", "s8s8", "nncf"),
    "generic": ("s8s8", "s8s8", "nncf"),
}


@pytest.mark.parametrize("cpu", list(AUTO))
def test_auto_picks_the_fast_scheme_for_each_cpu(cpu: str) -> None:
    chosen = tuple(get_format(fmt).int8_scheme("auto", cpu) for fmt in ("onnx", "tflite", "openvino"))
    assert chosen == AUTO[cpu]


def test_an_explicit_scheme_is_kept_or_refused() -> None:
    assert get_format("onnx").int8_scheme("s8s8", "amx") == "s8s8"
    with pytest.raises(UsageError, match=r"tflite int8 has no scheme 'u8s8' \(its schemes: auto, s8s8\)"):
        get_format("tflite").int8_scheme("u8s8", "amx")


@pytest.mark.parametrize(
    ("scheme", "activations", "seven_bit"),
    [("s8s8", "int8", False), ("u8s8", "uint8", False), ("u8s8-7bit", "uint8", True)],
)
def test_each_onnx_scheme_is_what_its_name_says(
    trained: Any, calibration: Any, tmp_path: Path, scheme: str, activations: str, seven_bit: bool
) -> None:
    model, meta = trained
    calib, _ = calibration
    artifact = export(model, "onnx", "int8", calib, tmp_path, meta=meta, int8_scheme=scheme)
    graph = onnx_int8_graph(artifact.path)
    assert graph["activation_dtypes"] == {activations} and graph["per_channel"]
    assert (graph["max_weight"] <= 64) == seven_bit
    record = json.loads(Path(artifact.path + ".json").read_text())["quantization"]
    assert record["int8_scheme"] == scheme and record["recipe"]["scheme"] == scheme
    assert record["activations"] == f"{activations} per-tensor"
    assert record["int8_scheme_means"] == get_format("onnx").int8_schemes[scheme]


def test_openvino_7bit_scheme_shrinks_the_weight_range(trained: Any, calibration: Any, tmp_path: Path) -> None:
    model, meta = trained
    calib, _ = calibration
    made = {
        scheme: export(model, "openvino", "int8", calib, tmp_path / scheme, meta=meta, int8_scheme=scheme)
        for scheme in ("nncf", "nncf-7bit")
    }
    assert made["nncf-7bit"].quantization["weights"].endswith("7-bit range (overflow fix)")
    assert made["nncf"].quantization["weights"] == "int8 symmetric per-channel"
    assert made["nncf"].sha256 != made["nncf-7bit"].sha256


def test_a_scheme_the_format_lacks_is_one_line_and_writes_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = cli(
        "export", "--model", "mobilenetv2", "--width", "0.25", "--resolution", "32", "--format", "onnx,tflite",
        "--int8", "--int8-scheme", "u8s8", "--out", out,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.code == 1 and len(lines) == 1, result.stderr
    assert "tflite int8 has no scheme 'u8s8' (its schemes: auto, s8s8)" in lines[0]
    assert not out.exists()


def test_export_hints_when_stored_measurements_show_int8_slower(cli, trained_checkpoint: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, out = tmp_path / "hint.sqlite", tmp_path / "out"
    export_args = ["export", "--checkpoint", trained_checkpoint, "--format", "onnx", "--out", out, "--db", db]
    made = cli(*export_args, "--precision", "fp32,int8", "--json")
    assert made.code == 0, made.stderr
    assert "hint:" not in made.stderr  # nothing measured yet
    medians = {}
    for artifact in json.loads(made.stdout):
        p50s = []
        for _ in range(3):
            bench = cli(
                "bench", artifact["path"], "-t", "1", "--runs", "30", "--min-seconds", "0.2", "--db", db, "--json"
            )
            assert bench.code == 0, bench.stderr
            p50s.append(json.loads(bench.stdout)["latency_ms"]["p50"])
        medians[artifact["precision"]] = sorted(p50s)[1]
    again = cli(*export_args, "--int8")
    assert again.code == 0, again.stderr
    hinted = "int8 measured slower than fp32 for mobilenetv2 w0.35 r32" in again.stderr
    assert hinted == (medians["int8"] > medians["fp32"]), (medians, again.stderr)
    if hinted:
        assert f"{medians['int8']:.3f} vs {medians['fp32']:.3f} ms p50 at 1 thread(s)" in again.stderr
