"""int8 schemes: the fast one for each CPU chosen by ``auto``, each explicit one what it says in the file, a
scheme a format does not offer refused in one line, and the hint when stored measurements show int8 slower."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from onnx_graph import onnx_int8_graph

from edgeconv.errors import UsageError
from edgeconv.exporters import export
from edgeconv.results import open_store
from edgeconv.runtime import BenchSettings, bench
from edgeconv.runtime.formats import get_format
from edgeconv.runtime.result import BenchResult, LatencyStats

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


RANDOM_W035_R32 = ["--model", "mobilenetv2", "--width", "0.35", "--resolution", "32", "--format", "onnx"]


def seed_latencies(db: Path, real: BenchResult, p50s: dict[str, float]) -> None:
    """Store one measurement per precision of mobilenetv2 w0.35 r32 in ONNX on this device, with known p50s."""
    model = {"model": "mobilenetv2", "width": 0.35, "resolution": 32}
    with open_store(db) as store:
        for precision, p50 in p50s.items():
            stats = LatencyStats(p50, p50, 0.0, p50, p50, p50, p50)
            artifact = {**real.artifact, "precision": precision, "sha256": precision * 8, "model": model}
            store.add_bench(replace(real, artifact=artifact, latency_ms=stats))


@pytest.fixture(scope="module")
def real_bench(tmp_path_factory: pytest.TempPathFactory) -> BenchResult:
    from tiny_artifacts import copy_tiny

    tiny = copy_tiny("onnx", tmp_path_factory.mktemp("tiny"))
    return bench(tiny, threads=1, settings=BenchSettings(warmup_runs=1, warmup_seconds=0, runs=3, min_seconds=0))


def test_export_hints_in_one_line_when_stored_measurements_show_int8_slower(cli, real_bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, out = tmp_path / "hint.sqlite", tmp_path / "out"
    seed_latencies(db, real_bench, {"fp32": 0.261, "int8": 0.372})
    made = cli("export", *RANDOM_W035_R32, "--int8", "--out", out, "--db", db)
    assert made.code == 0, made.stderr
    (hint,) = [line for line in made.stderr.splitlines() if "hint:" in line]  # one line, whatever the width
    assert "onnx int8 measured slower than fp32 for mobilenetv2 w0.35 r32: 0.372 vs 0.261 ms p50 at 1 thread(s)" in hint
    assert hint.endswith("finds the fastest runtime and precision") and len(hint) > 120


@pytest.mark.parametrize(
    ("p50s", "hinted"), [({"fp32": 0.261, "int8": 0.372}, True), ({"fp32": 0.4, "int8": 0.2}, False)]
)
def test_the_hint_follows_the_stored_medians(real_bench, tmp_path: Path, p50s: dict[str, float], hinted: bool) -> None:  # type: ignore[no-untyped-def]
    from edgeconv.cli.export_cmd import int8_hints

    db = tmp_path / "hint.sqlite"
    config = {"model": "mobilenetv2", "width": 0.35, "resolution": 32}
    assert int8_hints(config, {"onnx"}, real_bench.device, str(db)) == []  # no database: no hint, none created
    assert not db.exists()
    seed_latencies(db, real_bench, p50s)
    hints = int8_hints(config, {"onnx"}, real_bench.device, str(db))
    assert len(hints) == int(hinted) and int8_hints(config, {"tflite"}, real_bench.device, str(db)) == []


def test_an_export_with_nothing_measured_gives_no_hint(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made = cli("export", *RANDOM_W035_R32, "--int8", "--out", tmp_path / "out", "--db", tmp_path / "empty.sqlite")
    assert made.code == 0 and "hint:" not in made.stderr, made.stderr
