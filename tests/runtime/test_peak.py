"""The device's GEMM peak (``edgeconv info --peak``): real onnxruntime GEMMs, stored with the fingerprint, and
every later benchmark of that device reporting its achieved GMAC/s and fraction of the peak."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from edgeconv.runtime.device import device_info, kernel_int8_path
from edgeconv.runtime.peak import (
    GEMM_MODELS,
    default_thread_counts,
    efficiency,
    gemm_gmacs,
    int8_gemm_arithmetic,
    peak_for,
    peak_notes,
    saturating_u8s8_product,
)


def _session(kind: str):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    return ort.InferenceSession(GEMM_MODELS[kind], providers=["CPUExecutionProvider"])


def test_the_stored_gemm_models_are_what_the_onnx_package_builds() -> None:
    onnx = pytest.importorskip("onnx")  # a workstation package: absent on the device side
    from onnx import TensorProto, helper

    for kind, (a, b, y, op) in {
        "int8": (TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32, "MatMulInteger"),
        "fp32": (TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT, "MatMul"),
    }.items():
        graph = helper.make_graph(
            [helper.make_node(op, ["a", "b"], ["y"])],
            "gemm",
            [helper.make_tensor_value_info("a", a, ["n", "n"]), helper.make_tensor_value_info("b", b, ["n", "n"])],
            [helper.make_tensor_value_info("y", y, ["n", "n"])],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="edgeconv")
        model.ir_version = 8
        onnx.checker.check_model(model)
        assert model.SerializeToString() == GEMM_MODELS[kind], kind


def _expected_int8_arithmetic() -> str:
    """What onnxruntime's u8 x s8 GEMM kernels do on this CPU: exact with VNNI/AMX and on ARM; pairs saturating
    at 16 bits on x86 without VNNI (``vpmaddubsw``). They read CPUID: ``ONEDNN_MAX_CPU_ISA`` does not cap them."""
    return "saturating-16bit" if kernel_int8_path(device_info()) == "avx2" else "exact"


@pytest.mark.parametrize(
    "expected", [_expected_int8_arithmetic()], ids=lambda e: f"{e}-on-{kernel_int8_path(device_info())}"
)
def test_the_int8_gemm_computes_the_product_this_cpu_computes(expected: str) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 256, (64, 64), dtype=np.uint8), rng.integers(-128, 128, (64, 64), dtype=np.int8)
    (y,) = _session("int8").run(None, {"a": a, "b": b})
    exact = a.astype(np.int32) @ b.astype(np.int32)
    reference = exact if expected == "exact" else saturating_u8s8_product(a, b)
    np.testing.assert_array_equal(y, reference, err_msg=f"expected the {expected} product")
    assert int8_gemm_arithmetic() == expected
    seven_bit = a >> 1  # 7-bit activations never saturate a pair: exact on every CPU
    (y7,) = _session("int8").run(None, {"a": seven_bit, "b": b})
    np.testing.assert_array_equal(y7, seven_bit.astype(np.int32) @ b.astype(np.int32))


def test_the_fp32_gemm_computes_the_product() -> None:
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((64, 64), dtype=np.float32), rng.standard_normal((64, 64), dtype=np.float32)
    (z,) = _session("fp32").run(None, {"a": x, "b": w})
    np.testing.assert_allclose(z, x @ w, rtol=1e-4, atol=1e-4)


def test_the_saturating_reference_saturates_only_pairs_beyond_int16() -> None:
    a = np.array([[255, 255, 1]], dtype=np.uint8)
    b = np.array([[127], [127], [-128]], dtype=np.int8)
    assert saturating_u8s8_product(a, b).tolist() == [[32767 - 128]]  # 64770 clipped, then the odd k alone
    small = np.array([[3, 4]], dtype=np.uint8), np.array([[-5], [6]], dtype=np.int8)
    assert saturating_u8s8_product(*small).tolist() == [[9]]


def test_gemm_throughput_is_measured_for_both_precisions() -> None:
    # whether int8 beats fp32 is a property of the CPU (1.0x on a first-generation Zen, 9x on AMX): reported,
    # not assumed (test_peak_notes_say_when_int8_buys_nothing)
    int8, fp32 = gemm_gmacs("int8", 1, repeats=3, size=256), gemm_gmacs("fp32", 1, repeats=3, size=256)
    assert int8 > 0 and fp32 > 0


@pytest.mark.parametrize(
    ("int8", "arithmetic", "notes"),
    [(627.0, "exact", []), (22.0, "exact", ["int8 GEMMs run only 1.00x"]), (90.0, "saturating-16bit", ["-7bit"])],
    ids=["amx-like", "int8-no-faster", "saturating"],
)
def test_peak_notes_say_when_int8_buys_nothing(int8: float, arithmetic: str, notes: list[str]) -> None:
    peak = {"threads": {"1": {"int8_gmacs": int8, "fp32_gmacs": 22.0 if int8 < 50 else 43.0}}}
    found = peak_notes({**peak, "int8_arithmetic": arithmetic})
    assert len(found) == len(notes) and all(n in line for n, line in zip(notes, found, strict=True)), found


def test_efficiency_is_macs_over_latency_against_the_right_peak() -> None:
    peak = {"threads": {"1": {"int8_gmacs": 100.0, "fp32_gmacs": 40.0}}}
    found = efficiency(2e8, 4.0, "int8", 1, peak)
    assert found == {"gmacs": 50.0, "peak_gmacs": 100.0, "fraction_of_peak": 0.5, "peak_kind": "int8"}
    assert efficiency(2e8, 4.0, "fp16", 1, peak)["fraction_of_peak"] == pytest.approx(1.25)  # type: ignore[index]
    assert efficiency(2e8, 4.0, "fp32", 2, peak)["fraction_of_peak"] is None  # type: ignore[index]
    assert efficiency(None, 4.0, "fp32", 1, peak) is None
    assert peak_for(None, "int8", 1) is None and peak_for(peak, "int8", None) is None
    assert default_thread_counts()[0] == 1


def test_info_peak_is_stored_and_bench_reports_the_fraction(cli, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "peak.sqlite"
    measured = cli("info", "--peak", "--threads", "1", "--db", db, "--json")
    assert measured.code == 0, measured.stderr
    peak = json.loads(measured.stdout)["peak"]
    figures = peak["threads"]["1"]
    assert set(peak["threads"]) == {"1"} and figures["int8_gmacs"] > 0 and figures["fp32_gmacs"] > 0
    assert "onnxruntime" in peak["runtime"] and peak["device"]["device_id"]
    gemm = figures["gemm_by_runtime"]  # the peak is the best runtime's (OpenVINO's prepacked kernels may lead)
    openvino = importlib.util.find_spec("openvino") is not None
    assert "onnxruntime" in gemm and ("openvino" in gemm) == openvino == ("openvino" in peak["runtime"])
    assert all(figures[f"{kind}_gmacs"] == max(f[kind] for f in gemm.values()) > 0 for kind in ("int8", "fp32"))
    assert peak["int8_arithmetic"] == _expected_int8_arithmetic()
    with sqlite3.connect(db) as connection:
        (stored,) = connection.execute("SELECT peak_json FROM peaks").fetchone()
    assert json.loads(stored) == peak

    for kind in ("onnx", "tflite"):  # fp32 and int8 artifacts
        model = tiny(kind)
        bench = cli("bench", model, "-t", "1", "--runs", "20", "--min-seconds", "0.1", "--db", db, "--json")
        assert bench.code == 0, bench.stderr
        result = json.loads(bench.stdout)
        sidecar = json.loads(Path(str(model) + ".json").read_text())
        expected = sidecar["model"]["macs"] / (result["latency_ms"]["p50"] / 1e3) / 1e9
        compute = result["efficiency"]
        assert compute["gmacs"] == pytest.approx(expected)
        kind_of_peak = "int8" if sidecar["precision"] == "int8" else "fp32"
        assert compute["peak_kind"] == kind_of_peak
        assert compute["fraction_of_peak"] == pytest.approx(expected / figures[f"{kind_of_peak}_gmacs"])
        table = cli("bench", model, "-t", "1", "--runs", "20", "--min-seconds", "0.1", "--db", db)
        assert f"of its {kind_of_peak} GEMM peak" in table.stdout


def test_without_a_peak_bench_says_how_to_measure_it(cli, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("bench", tiny("onnx"), "-t", "1", "--runs", "10", "--min-seconds", "0.05", "--no-store")
    assert result.code == 0 and "GMAC/s (no peak stored for this device: edgeconv info --peak)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--peak", "--threads", "0"], "--threads takes thread counts >= 1"),
        (["--peak", "--threads", "one"], "--threads takes comma-separated whole numbers"),
        (["--threads", "1"], "--threads and --target apply to --peak"),
    ],
)
def test_bad_peak_options_are_one_line(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("info", *args)
    lines = result.stderr.strip().splitlines()
    assert result.code != 0 and len(lines) == 1 and message in lines[0], result.stderr
