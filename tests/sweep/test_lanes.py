"""A sweep across lanes (families here): one search per family on the target, a baseline that cannot meet the
budget at its narrowest width is reported with its fastest latency and never trained, one selection across
families, and the report with the per-lane cost table."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edgeconv.errors import UsageError
from edgeconv.fastest import int8_sentence
from edgeconv.runtime.device import device_info, int8_path
from edgeconv.runtime.formats import get_format
from edgeconv.sweep import SweepConfig
from edgeconv.sweep.lanes import Lane, check_lanes, default_baseline, lane_config, plan_lanes

# MobileNetV3-Small (4.6 MMACs at 64 px) and ResNet-18 (148 MMACs): measured 0.50 ms and 7.5 ms p90 here
# (AVX2, OpenVINO fp32, 1 thread), so a 2 ms budget leaves 4x on either side on faster or slower CPUs.
BUDGET_MS = 2.0
SWEEP = [
    "sweep",
    "--model",
    "mobilenetv3_small,resnet18",
    "--widths",
    "1.0",
    "--resolutions",
    "64",
    "--format",
    "openvino",
    "--precision",
    "fp32",
    "--epochs",
    "1",
    "--runs",
    "10",
    "--min-seconds",
    "0.1",
    "--budget-ms",
    str(BUDGET_MS),
]


@pytest.fixture(scope="module")
def family_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("families")
    db, out = work / "results.sqlite", work / "out"
    command = [sys.executable, "-m", "edgeconv", *SWEEP, "--out", str(out), "--db", str(db), "--json"]
    return db, out, subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)


def test_the_baseline_over_budget_is_reported_and_not_trained(
    family_sweep: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    _, out, proc = family_sweep
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["kind"] == "lanes" and summary["baseline"] == "resnet18"
    edge, baseline = summary["lanes"]
    assert (edge["family"], edge["fits"], edge["baseline"]) == ("mobilenetv3_small", True, False)
    assert (baseline["family"], baseline["fits"], baseline["baseline"]) == ("resnet18", False, True)
    assert baseline["chosen"] is None and baseline["candidates"] == 0
    assert baseline["efficiency"]["fastest"]["latency_ms"] > BUDGET_MS
    assert not (out / "resnet18" / "candidates").exists()  # never trained
    assert "lane resnet18: over budget even at width 1" in proc.stderr
    for entry in summary["lanes"]:  # cost per unit of work and size, from the probes
        cost = entry["efficiency"]
        fastest = cost["fastest"]
        assert cost["ms_per_gmac"] == pytest.approx(fastest["latency_ms"] / (fastest["mmacs"] / 1e3))
        assert cost["ms_per_mparam"] == pytest.approx(fastest["latency_ms"] / fastest["mparams"])
    chosen = summary["selection"]["chosen"]
    assert chosen["model"] == "mobilenetv3_small" and chosen["latency_ms"]["p90"] <= BUDGET_MS
    assert sorted(p.name for p in (out / "selected").iterdir()) == sorted(
        [chosen["artifact_name"], chosen["artifact_name"].replace(".xml", ".bin"), chosen["artifact_name"] + ".json"]
    )
    assert json.loads((out / "lanes.json").read_text()) == summary
    assert (out / "mobilenetv3_small" / "sweep.json").is_file() and (out / "resnet18" / "sweep.json").is_file()


def test_family_report(family_sweep: tuple[Path, Path, subprocess.CompletedProcess[str]], cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, out, _ = family_sweep
    result = cli("report", "--sweep", out, "--out", tmp_path / "report.html")
    assert result.code == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert "resnet18 (baseline)" in page and "over budget at every width: fastest" in page
    assert "ms per GMAC" in page and "mobilenetv3_small" in page
    assert (out / "resnet18" / "report.html").is_file()  # each family's own report, linked
    assert "../" in page or str(out.name) in page
    assert (tmp_path / "report_cost.png").stat().st_size > 5000
    latest = cli("report", "--db", db, "--out", tmp_path / "latest.html")  # the database's latest sweep
    assert latest.code == 0 and "resnet18 (baseline)" in (tmp_path / "latest.html").read_text()


def _config(**changes: object) -> SweepConfig:
    return SweepConfig(model="x", budget_ms=5.0, widths=[0.35, 0.5, 0.75, 1.0], resolutions=[64], **changes)  # type: ignore[arg-type]


def _lanes(*families: str) -> list[Lane]:
    return plan_lanes(list(families), ["tflite"], ["int8"])[0]


def test_lane_config_and_baseline() -> None:
    assert default_baseline(["mobilenetv2", "vgg11_bn", "resnet18"]) == "vgg11_bn"
    assert default_baseline(["mobilenetv2", "mnasnet"]) is None
    shufflenet, resnet = _lanes("shufflenetv2", "resnet18")
    assert lane_config(_config(), shufflenet).widths == [0.5, 1.0]  # its published widths in range
    assert lane_config(_config(), resnet).widths == [0.35, 0.5, 0.75, 1.0]
    with pytest.raises(UsageError, match="inception_v3 needs inputs of at least 75 px; --resolutions has 64"):
        check_lanes(_config(), _lanes("mobilenetv2", "inception_v3"), None)
    with pytest.raises(UsageError, match="--baseline vgg16_bn is not one of the swept models"):
        check_lanes(_config(), _lanes("mobilenetv2", "resnet18"), "vgg16_bn")
    with pytest.raises(UsageError, match="--weights holds one family's weights"):
        check_lanes(_config(weights="w.pt"), _lanes("mobilenetv2", "resnet18"), None)


def test_lanes_are_every_pair_a_format_makes() -> None:
    lanes, notes = plan_lanes(["mobilenetv2"], ["onnx", "tflite"], ["fp16", "int8"])
    assert [(lane.format, lane.precision) for lane in lanes] == [
        ("onnx", "int8"),
        ("tflite", "fp16"),
        ("tflite", "int8"),
    ]
    assert notes == ["onnx does not produce fp16; skipped"]
    assert lanes[0].path(families_vary=False, runtimes_vary=True) == Path("onnx-int8")
    assert lanes[0].path(families_vary=True, runtimes_vary=True) == Path("mobilenetv2/onnx-int8")
    with pytest.raises(UsageError, match="none of the formats onnx produces fp16"):
        plan_lanes(["mobilenetv2"], ["onnx"], ["fp16"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "mobilenetv2,resnet19"], "unknown model 'resnet19'; did you mean 'resnet18'?"),
        (["--model", "mobilenetv2,resnet18", "--baseline", "vgg16_bn"], "--baseline vgg16_bn is not one of"),
        (["--model", "mobilenetv2", "--baseline", "mobilenetv2"], "--baseline marks one of several models"),
        (["--model", "edge,inception_v3", "--resolutions", "64"], "inception_v3 needs inputs of at least 75 px"),
    ],
)
def test_bad_family_options_are_one_line(cli, args: list[str], message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("sweep", *args, "--budget-ms", "5", "--out", tmp_path / "out")
    assert result.code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


RUNTIMES_SWEEP = [
    "sweep", "--model", "mobilenetv2", "--widths", "0.5", "--resolutions", "32", "--format", "onnx,openvino",
    "--precision", "fp32,int8", "--epochs", "1", "--runs", "10", "--min-seconds", "0.1", "--budget-ms", "100",
]  # fmt: skip


@pytest.fixture(scope="module")
def runtimes_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    work = tmp_path_factory.mktemp("runtimes")
    out = work / "out"
    command = [sys.executable, "-m", "edgeconv", *RUNTIMES_SWEEP, "--out", str(out), "--db", str(work / "r.sqlite")]
    proc = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout), proc.stderr


def test_formats_and_precisions_are_lanes_of_one_selection(runtimes_sweep: tuple[Path, dict[str, Any], str]) -> None:
    out, summary, _ = runtimes_sweep
    lanes = {entry["lane"]: entry for entry in summary["lanes"]}
    assert list(lanes) == ["onnx-fp32", "onnx-int8", "openvino-fp32", "openvino-int8"]
    cpu = int8_path(device_info())
    assert lanes["onnx-int8"]["int8_scheme"] == get_format("onnx").int8_scheme("auto", cpu)
    assert lanes["openvino-int8"]["int8_scheme"] == get_format("openvino").int8_scheme("auto", cpu)
    assert lanes["onnx-fp32"]["int8_scheme"] is None
    for name in lanes:
        assert (out / name / "sweep.json").is_file() and not (out / name / "candidates").exists()
    # one training per width, shared by the four lanes, which each exported it in their format and precision
    trained = sorted(p.name for p in (out / "candidates").glob("*/*.pt"))
    assert trained == ["mobilenetv2_w0.5_r32.pt"]
    exported = sorted(
        p.name for p in (out / "candidates" / "mobilenetv2_w0.5_r32").glob("*_fp32.*") if p.suffix != ".json"
    )
    assert exported == [
        "mobilenetv2_w0.5_r32_fp32.bin",
        "mobilenetv2_w0.5_r32_fp32.onnx",
        "mobilenetv2_w0.5_r32_fp32.xml",
    ]
    # selecting across lanes is at least as accurate as the best single lane under the same budget
    chosen = summary["selection"]["chosen"]
    assert all(chosen["top1"] >= e["chosen"]["top1"] for e in lanes.values() if e["chosen"])
    assert len(summary["selection"]["candidates"]) == 4


def test_the_fastest_runtime_per_width_and_the_int8_verdicts(runtimes_sweep: tuple[Path, dict[str, Any], str]) -> None:
    _, summary, stderr = runtimes_sweep
    assert "lane onnx-int8 (2 of 4)" in stderr
    (row,) = summary["fastest_per_width"]
    assert (row["family"], row["width"], row["resolution"]) == ("mobilenetv2", 0.5, 32)
    probes = {e["lane"]: {p["width"]: p["latency_ms"] for p in e["probes"]} for e in summary["lanes"]}
    assert {lane: v["latency_ms"] for lane, v in row["lanes"].items()} == {lane: p[0.5] for lane, p in probes.items()}
    assert all(v["measured"] for v in row["lanes"].values())
    assert row["fastest"] == min(probes, key=lambda lane: probes[lane][0.5])
    verdicts = {v["format"]: v for v in summary["int8_vs_fp32"]}
    assert set(verdicts) == {"onnx", "openvino"}
    for fmt, verdict in verdicts.items():
        (compared,) = verdict["compared_at"]
        speedup = probes[f"{fmt}-fp32"][0.5] / probes[f"{fmt}-int8"][0.5]
        assert compared["int8_speedup"] == pytest.approx(speedup) and verdict["measured"]
        assert verdict["int8_slower"] == (speedup < 1)
        word = "SLOWER" if speedup < 1 else "faster"
        assert f"int8 is {word} than fp32 for mobilenetv2 in {fmt}" in int8_sentence(verdict)


def test_runtimes_report_names_the_fastest_per_width(
    runtimes_sweep: tuple[Path, dict[str, Any], str],
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    out, summary, _ = runtimes_sweep
    result = cli("report", "--sweep", out, "--out", tmp_path / "report.html")
    assert result.code == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    assert "Fastest runtime and precision per width" in page
    assert summary["fastest_per_width"][0]["fastest"].replace("-", " ") in page
    for verdict in summary["int8_vs_fp32"]:
        assert html.escape(int8_sentence(verdict)) in page
    assert "GMAC/s" in page and "onnx int8" in page
