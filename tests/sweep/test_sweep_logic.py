"""The sweep's logic against a target whose latency is a known function of MACs, with a two-step trainer:
search, finalists, selection, persistence once, reuse, resume, remeasure, lanes across families and across
formats and precisions, and their reports. Exports, evaluation and the database are real."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from placed_weights import place_as_mobilenetv2
from simulated import KnownLatencyTarget, TwoStepTrainer
from tiny_artifacts import TEST_MODEL

from edgeconv.checkpoint import load_checkpoint
from edgeconv.fastest import int8_sentence
from edgeconv.models import model_info
from edgeconv.results import open_store
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.device import int8_path
from edgeconv.runtime.formats import get_format
from edgeconv.sweep import SweepConfig, plan_sweep, run_sweep
from edgeconv.sweep.search import CONFIRM_SAMPLES
from edgeconv.train import TrainConfig

WIDTHS = [0.25, 0.35, 0.5, 0.75, 1.0]
FAST = BenchSettings(warmup_runs=1, warmup_seconds=0, runs=5, min_seconds=0)


def known_p90(target: KnownLatencyTarget, family: str, width: float) -> float:
    macs = model_info(family, width, 32, num_classes=10).macs
    return target.latency_ms({"format": "onnx", "precision": "fp32", "model": {"macs": macs}})


@pytest.fixture(scope="module")
def target() -> KnownLatencyTarget:
    return KnownLatencyTarget()


@pytest.fixture(scope="module")
def budget(target: KnownLatencyTarget) -> float:
    """Between the known latencies of widths 0.5 and 0.75: the search must find 0.5."""
    return (known_p90(target, "mobilenetv2", 0.5) + known_p90(target, "mobilenetv2", 0.75)) / 2


def config(budget_ms: float, **changes: Any) -> SweepConfig:
    settings = {"model": "mobilenetv2", "format": "onnx", "precision": "fp32", "bench": FAST}
    settings |= {"train": TrainConfig(epochs=1)}
    settings |= {"widths": WIDTHS, "resolutions": [32]}
    return SweepConfig(budget_ms=budget_ms, **{**settings, **changes})


def sweep(
    work: Path, cfg: SweepConfig, target: KnownLatencyTarget, trainer: TwoStepTrainer | None
) -> tuple[dict, list]:  # type: ignore[type-arg]
    log: list[str] = []
    with open_store(work / "results.sqlite") as store:
        summary = run_sweep(plan_sweep(cfg), work / "out", store, target, log.append, trainer)
    return summary, log


def copy_of(first: tuple[Path, dict], tmp_path: Path, name: str) -> Path:  # type: ignore[type-arg]
    """A private copy of the first sweep's output directory and database, to change and sweep again."""
    work = tmp_path / name
    shutil.copytree(first[0], work)
    return work


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory, target: KnownLatencyTarget, budget: float) -> tuple[Path, dict]:  # type: ignore[type-arg]
    work = tmp_path_factory.mktemp("logic")
    trainer = TwoStepTrainer()
    summary, _ = sweep(work, config(budget), target, trainer)
    assert trainer.trained == [("mobilenetv2_w0.5_r32", False), ("mobilenetv2_w0.35_r32", False)]
    return work, summary


def test_the_search_finds_the_widest_width_under_budget_and_persists_once(
    first: tuple[Path, dict], budget: float
) -> None:  # type: ignore[type-arg]
    work, summary = first
    (search,) = summary["searches"]
    assert search["best_width"] == 0.5 and [f["width"] for f in summary["finalists"]] == [0.5, 0.35]
    assert search["measurements"] < 2 * len(WIDTHS)  # a search, not a grid of confirmed points
    chosen = summary["selection"]["chosen"]
    assert chosen["width"] in (0.35, 0.5) and chosen["latency_ms"]["p90"] <= budget
    assert chosen["measurements"] == CONFIRM_SAMPLES and chosen["device_id"] == "known0000000000"
    assert chosen["top1"] == max(c["top1"] for c in summary["selection"]["candidates"])
    out = work / "out"
    assert json.loads((out / "sweep.json").read_text()) == summary
    assert sorted(p.name for p in (out / "selected").iterdir()) == [
        chosen["artifact_name"],
        chosen["artifact_name"] + ".json",
    ]
    db = sqlite3.connect(work / "results.sqlite")
    assert db.execute("SELECT COUNT(*) FROM sweeps").fetchone() == (1,)  # persisted once
    assert db.execute("SELECT COUNT(*) FROM evaluations").fetchone() == (2,)
    efficiency = summary["efficiency"]
    assert efficiency["fastest"]["width"] == 0.25 and efficiency["probes"] == len(summary["probes"])


def test_a_repeated_sweep_measures_and_trains_nothing_again(
    first: tuple[Path, dict], target: KnownLatencyTarget, budget: float
) -> None:  # type: ignore[type-arg]
    work, summary = first
    before, trainer = len(target.measured), TwoStepTrainer()
    again, log = sweep(work, config(budget), target, trainer)
    assert len(target.measured) == before and trainer.trained == []
    assert again["reused_measurements"] == len(summary["probes"]) + len(summary["finalists"])
    assert sum("done in an earlier run" in line for line in log) == 2
    assert again["selection"]["chosen"]["artifact_sha256"] == summary["selection"]["chosen"]["artifact_sha256"]


def test_an_interrupted_sweep_resumes_with_the_finished_candidate_untouched(
    tmp_path: Path,
    first: tuple[Path, dict],
    target: KnownLatencyTarget,
    budget: float,  # type: ignore[type-arg]
) -> None:
    work = copy_of(first, tmp_path, "resumed")
    shutil.rmtree(work / "out" / "candidates" / "mobilenetv2_w0.35_r32")  # stopped before the second finalist
    finished = work / "out" / "candidates" / "mobilenetv2_w0.5_r32" / "mobilenetv2_w0.5_r32.pt"
    mtime, before, trainer = finished.stat().st_mtime_ns, len(target.measured), TwoStepTrainer()
    summary, _ = sweep(work, config(budget), target, trainer)
    assert trainer.trained == [("mobilenetv2_w0.35_r32", False)] and finished.stat().st_mtime_ns == mtime
    shas = {c["width"]: c["artifact_sha256"] for c in summary["selection"]["candidates"]}
    assert shas == {c["width"]: c["artifact_sha256"] for c in first[1]["selection"]["candidates"]}
    assert target.measured[before:] == []  # seeded training made the lost finalist again, byte for byte: its
    # stored measurements stand for it


def test_remeasure_measures_every_artifact_again(
    tmp_path: Path, first: tuple[Path, dict], target: KnownLatencyTarget, budget: float
) -> None:  # type: ignore[type-arg]
    work = copy_of(first, tmp_path, "again")
    before = len(target.measured)
    summary, _ = sweep(work, config(budget, remeasure=True), target, TwoStepTrainer())
    assert summary["reused_measurements"] == 0
    assert len(target.measured) - before == summary["measurements"] + CONFIRM_SAMPLES * len(summary["finalists"])


def test_distillation_teaches_the_narrower_finalists_from_the_widest(
    tmp_path: Path,
    first: tuple[Path, dict],
    target: KnownLatencyTarget,
    budget: float,  # type: ignore[type-arg]
) -> None:
    work = copy_of(first, tmp_path, "distilled")
    shutil.rmtree(work / "out" / "candidates")  # the probes and their measurements are kept
    trainer = TwoStepTrainer()
    sweep(work, config(budget, distil=True), target, trainer)
    assert trainer.trained == [("mobilenetv2_w0.5_r32", False), ("mobilenetv2_w0.35_r32", True)]


@pytest.mark.parametrize(("distil", "weights"), [(False, "imagenet"), (True, "a file")])
def test_pretrained_sweep_fine_tunes_the_weights_width_once_and_derives_every_finalist_from_it(
    tmp_path: Path, target: KnownLatencyTarget, monkeypatch: pytest.MonkeyPatch, distil: bool, weights: str
) -> None:
    """The pretrained width (0.35 here: published, or a local checkpoint) is fine-tuned once as the teacher; the
    narrower finalist is derived from the teacher and fine-tuned, on its soft targets too with --distil; the
    candidates say where their weights came from."""
    entry = place_as_mobilenetv2(tmp_path / "torch", monkeypatch)
    source = "imagenet" if weights == "imagenet" else str(TEST_MODEL)
    budget = (known_p90(target, "mobilenetv2", 0.25) + known_p90(target, "mobilenetv2", 0.35)) / 2
    cfg = config(budget, widths=[0.2, 0.25, 0.35], weights=source, distil=distil, train=TrainConfig(epochs=2))
    summary, log = sweep(tmp_path, cfg, target, None)  # edgeconv's own FitTrainer, as the CLI builds it
    teacher_line = "teacher w0.35 r32: the pretrained width, fine-tuned once for 4 epochs; every candidate derives"
    assert f"{teacher_line} from it" in log
    assert "train  w0.35 r32: 4 epochs" in log  # twice the candidates': it is trained once for all of them
    assert f"train  w0.25 r32: 2 epochs ({'distilled' if distil else 'from the teacher'})" in log
    found = {c["width"]: c for c in summary["selection"]["candidates"]}
    teacher = tmp_path / "out" / "candidates" / "mobilenetv2_w0.35_r32" / "mobilenetv2_w0.35_r32.pt"
    assert found[0.25]["weights_from"] == f"derived from {teacher.name} width 0.35 (scale-and-use, refitted)"
    assert load_checkpoint(teacher)[1]["init"]["source"] == (entry.tag if weights == "imagenet" else "file")
    assert json.loads(teacher.with_suffix(".train.json").read_text())["config"]["epochs"] == 4
    assert found[0.25]["top1"] > 0.35  # measured 0.47; from scratch, even four epochs reach 0.27
    meta = json.loads(
        (tmp_path / "out" / "candidates" / "mobilenetv2_w0.25_r32" / "mobilenetv2_w0.25_r32.train.json").read_text()
    )
    # the finalist already classifies the digits (its teacher's head): no head epoch, a third of the rate
    assert meta["config"]["head_epochs"] == 0 and meta["config"]["lr"] == pytest.approx(1e-3)
    assert meta["config"]["kd_alpha"] == (0.5 if distil else 0.0)
    assert any("trained on these classes: no head phase, learning rate 0.001" in line for line in log)


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory, target: KnownLatencyTarget) -> tuple[Path, dict, list[str]]:  # type: ignore[type-arg]
    """MobileNetV3-Small fits a 1 ms budget; ResNet-18 (37 MMACs at 32 px) cannot at its narrowest width."""
    work = tmp_path_factory.mktemp("families")
    cfg = config(1.0, model="mobilenetv3_small,resnet18", widths=[1.0])
    summary, log = sweep(work, cfg, target, TwoStepTrainer())
    return work, summary, log


def test_the_baseline_over_budget_is_reported_and_not_trained(families: tuple[Path, dict, list[str]]) -> None:  # type: ignore[type-arg]
    work, summary, log = families
    out = work / "out"
    assert summary["kind"] == "lanes" and summary["baseline"] == "resnet18"
    edge, baseline = summary["lanes"]
    assert (edge["family"], edge["fits"], edge["baseline"]) == ("mobilenetv3_small", True, False)
    assert (baseline["family"], baseline["fits"], baseline["baseline"]) == ("resnet18", False, True)
    assert baseline["chosen"] is None and baseline["candidates"] == 0
    assert baseline["efficiency"]["fastest"]["latency_ms"] > 1.0
    assert not (out / "resnet18" / "candidates").exists()  # never trained
    assert any("lane resnet18: over budget even at width 1" in line for line in log)
    for entry in summary["lanes"]:
        cost, fastest = entry["efficiency"], entry["efficiency"]["fastest"]
        assert cost["ms_per_gmac"] == pytest.approx(fastest["latency_ms"] / (fastest["mmacs"] / 1e3))
        assert cost["ms_per_mparam"] == pytest.approx(fastest["latency_ms"] / fastest["mparams"])
        assert entry["summary"]["efficiency"] == cost  # the lane's own summary, embedded once
    chosen = summary["selection"]["chosen"]
    assert chosen["model"] == "mobilenetv3_small" and chosen["latency_ms"]["p90"] <= 1.0
    assert sorted(p.name for p in (out / "selected").iterdir()) == [
        chosen["artifact_name"],
        chosen["artifact_name"] + ".json",
    ]
    assert json.loads((out / "lanes.json").read_text()) == summary
    assert not (out / "resnet18" / "sweep.json").exists() and not (out / "resnet18" / "selected").exists()
    assert sqlite3.connect(work / "results.sqlite").execute("SELECT COUNT(*) FROM sweeps").fetchone() == (1,)


def test_family_report(families: tuple[Path, dict, list[str]], cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def, type-arg]
    work, _, _ = families
    out = work / "out"
    result = cli("report", "--sweep", out, "--out", tmp_path / "report.html")
    assert result.code == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert "resnet18 (baseline)" in page and "over budget at every width: fastest" in page
    assert "ms per GMAC" in page and "mobilenetv3_small" in page
    assert (out / "resnet18" / "report.html").is_file()  # each family's own report, linked
    assert (tmp_path / "report_cost.png").stat().st_size > 5000
    latest = cli("report", "--db", work / "results.sqlite", "--out", tmp_path / "latest.html")
    assert latest.code == 0 and "resnet18 (baseline)" in (tmp_path / "latest.html").read_text()


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory: pytest.TempPathFactory, target: KnownLatencyTarget) -> tuple[Path, dict, list[str]]:  # type: ignore[type-arg]
    """One width in ONNX and OpenVINO, fp32 and int8; the target runs int8 2x faster in ONNX, 2x slower in
    OpenVINO. A two-step model is no test of the int8 gate (tests/exporters): it is opened wide. Candidates are
    profiled (sweep --profile) by the runtimes' real profilers."""
    work = tmp_path_factory.mktemp("runtimes")
    cfg = config(
        100.0, widths=[0.5], format="onnx,openvino", precision="fp32,int8", max_drop=100.0, calib_size=32, profile=True
    )
    summary, log = sweep(work, cfg, target, trainer := TwoStepTrainer())
    assert trainer.trained == [("mobilenetv2_w0.5_r32", False)]  # one training, shared by the four lanes
    return work, summary, log


def test_formats_and_precisions_are_lanes_of_one_selection(
    runtimes: tuple[Path, dict, list[str]], target: KnownLatencyTarget
) -> None:  # type: ignore[type-arg]
    work, summary, log = runtimes
    out = work / "out"
    lanes = {entry["lane"]: entry for entry in summary["lanes"]}
    assert list(lanes) == ["onnx-fp32", "onnx-int8", "openvino-fp32", "openvino-int8"]
    cpu = int8_path(target.device())  # the target's CPU decides the auto schemes
    assert lanes["onnx-int8"]["int8_scheme"] == get_format("onnx").int8_scheme("auto", cpu)
    assert lanes["openvino-int8"]["int8_scheme"] == get_format("openvino").int8_scheme("auto", cpu)
    assert lanes["onnx-fp32"]["int8_scheme"] is None
    assert "lane onnx-int8 (2 of 4)" in log
    exported = sorted(p.name for p in (out / "candidates" / "mobilenetv2_w0.5_r32").iterdir() if p.suffix != ".json")
    assert [n for n in exported if "_fp32." in n] == [
        "mobilenetv2_w0.5_r32_fp32.bin",
        "mobilenetv2_w0.5_r32_fp32.onnx",
        "mobilenetv2_w0.5_r32_fp32.xml",
    ]
    assert len(summary["selection"]["candidates"]) == 4
    chosen = summary["selection"]["chosen"]
    assert all(chosen["top1"] >= e["chosen"]["top1"] for e in lanes.values() if e["chosen"])


def test_the_int8_verdicts_follow_the_measurements_in_both_directions(runtimes: tuple[Path, dict, list[str]]) -> None:  # type: ignore[type-arg]
    _, summary, _ = runtimes
    (row,) = summary["fastest_per_width"]
    assert (row["family"], row["width"], row["resolution"], row["fastest"]) == ("mobilenetv2", 0.5, 32, "onnx-int8")
    verdicts = {v["format"]: v for v in summary["int8_vs_fp32"]}
    assert verdicts["onnx"]["int8_slower"] is False and verdicts["openvino"]["int8_slower"] is True
    (onnx,), (openvino,) = verdicts["onnx"]["compared_at"], verdicts["openvino"]["compared_at"]
    assert onnx["int8_speedup"] == pytest.approx(2.0) and openvino["int8_speedup"] == pytest.approx(0.5)
    assert "int8 is SLOWER than fp32 for mobilenetv2 in openvino" in int8_sentence(verdicts["openvino"])
    assert "int8 is faster than fp32 for mobilenetv2 in onnx" in int8_sentence(verdicts["onnx"])


def test_runtimes_report_names_the_fastest_per_width(
    runtimes: tuple[Path, dict, list[str]], cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def, type-arg]
    import html

    work, summary, _ = runtimes
    result = cli("report", "--sweep", work / "out", "--out", tmp_path / "report.html")
    assert result.code == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    assert "Fastest runtime and precision per width" in page and "onnx int8" in page
    for verdict in summary["int8_vs_fp32"]:
        assert html.escape(int8_sentence(verdict)) in page


def test_profiled_lanes_report_where_the_time_goes_and_the_fastest_lane_per_op_kind(
    runtimes: tuple[Path, dict, list[str]], cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def, type-arg]
    from edgeconv.report.lanes import lane_label

    work, summary, log = runtimes
    candidates = summary["selection"]["candidates"]
    with open_store(work / "results.sqlite") as store:
        for candidate in candidates:
            profile = candidate["profile"]
            assert {"pointwise conv", "depthwise conv"} <= set(profile["by_kind"]) and len(profile["slowest"]) == 10
            assert profile["slowest"][0]["ms"] == max(layer["ms"] for layer in profile["slowest"])
            sidecar = json.loads(Path(candidate["artifact_path"] + ".json").read_text())
            assert sum(kind["macs"] for kind in profile["by_kind"].values()) == sidecar["model"]["macs"]  # every MAC
            stored = store.find_benches(candidate["artifact_sha256"], "known0000000000", 1)
            assert len(stored) == CONFIRM_SAMPLES  # the profiled measurement is one of the three
            assert sum(result.profile is not None for _, result in stored) == 1
    assert sum(line.startswith("profile mobilenetv2_w0.5_r32_") for line in log) == 4
    result = cli("report", "--sweep", work / "out", "--out", tmp_path / "report.html")
    assert result.code == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3 and (tmp_path / "report_op_kinds.png").stat().st_size > 5000
    assert "Where the time goes" in page and "Slowest layers of" in page and "time in depthwise convs" in page
    markdown = (tmp_path / "report.md").read_text()
    table = markdown.split("## Fastest lane per op kind")[1].split("\n\n")[1].splitlines()
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    row = next(line for line in table if line.startswith("| depthwise conv |"))
    cells = dict(zip(header, (cell.strip() for cell in row.strip("|").split("|")), strict=True))
    rates = {}
    for entry in summary["lanes"]:
        (own,) = [c for c in candidates if (c["format"], c["precision"]) == (entry["format"], entry["precision"])]
        depthwise = own["profile"]["by_kind"]["depthwise conv"]
        rates[lane_label(entry, summary)] = depthwise["macs"] / depthwise["ms"] / 1e6
    assert cells["unit"] == "GMAC/s" and cells["fastest"] == max(rates, key=rates.__getitem__)
    assert all(float(cells[lane]) == pytest.approx(rate, abs=0.05) for lane, rate in rates.items())
    lane_page = (work / "out" / "onnx-int8" / "report.html").read_text()
    assert lane_page.count('src="data:image/png;base64,') == 3 and "Slowest layers of" in lane_page


def test_a_repeated_profiled_sweep_reuses_the_stored_profiles(
    runtimes: tuple[Path, dict, list[str]], target: KnownLatencyTarget, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    work, summary, _ = runtimes
    again = copy_of((work, summary), tmp_path, "again")
    measured = len(target.measured)
    cfg = config(
        100.0, widths=[0.5], format="onnx,openvino", precision="fp32,int8", max_drop=100.0, calib_size=32, profile=True
    )
    repeated, _ = sweep(again, cfg, target, TwoStepTrainer())
    assert len(target.measured) == measured  # nothing measured again: the profiles came from the database
    profiles = {c["artifact_name"]: c["profile"] for c in summary["selection"]["candidates"]}
    assert {c["artifact_name"]: c["profile"] for c in repeated["selection"]["candidates"]} == profiles
