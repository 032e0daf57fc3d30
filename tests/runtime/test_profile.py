"""``bench --profile``: per-op times from onnxruntime's profiler and OpenVINO's performance counters on real
sessions, mapped back to the artifact's graph; LiteRT's native op-profiling table parsed from a real run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime import bench
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.profile import profile_artifact, summarise
from edgeconv.runtime.profile.fusion import FOLDED
from edgeconv.runtime.profile.native_ops import parse_op_profile
from edgeconv.runtime.profile.onnx_wire import depthwise_conv_model, read_nodes
from edgeconv.targets.native_benchmark import parse_native
from edgeconv.targets.runners import tool_command

FIXTURES = Path(__file__).parent.parent / "fixtures"
SETTINGS = BenchSettings(warmup_runs=2, warmup_seconds=0.0, runs=10, min_seconds=0.0)


def _macs(path: Path) -> int:
    return int(json.loads(path.with_name(path.name + ".json").read_text())["model"]["macs"])


@pytest.mark.parametrize("name", ["tiny_mobilenetv2_fp32.onnx", "tiny_mobilenetv2_fp32.xml"])
def test_profile_accounts_for_every_mac_and_every_node(name: str) -> None:
    path = FIXTURES / name
    pytest.importorskip("onnxruntime" if name.endswith(".onnx") else "openvino")
    profile = profile_artifact(path, 1, 10)
    layers = profile["layers"]
    assert sum(layer.macs for layer in layers) == _macs(path)  # every conv and the classifier, exactly once
    kinds = {layer.kind for layer in layers}
    assert {"pointwise conv", "depthwise conv", "full conv", "fully connected"} <= kinds
    executed = {layer.name for layer in layers}
    assert set(profile["fused"].values()) <= executed | {FOLDED}
    if name.endswith(".onnx"):
        for node in read_nodes(path):  # every node of the file: executed, or fused into an executed one
            assert node.name in executed or node.name in profile["fused"]
        convs = {n.name for n in read_nodes(path) if n.op_type == "Conv"}
        by_name = {layer.name: layer for layer in layers}
        for conv in convs:  # a convolution lands in an executed convolution, never in a reorder or an add
            into = conv if conv in by_name else profile["fused"][conv]
            assert "conv" in by_name[into].kind
    else:  # a convolution or product of the IR is executed or fused into an executed node, never "folded"
        import openvino as ov

        weighted = {"Convolution", "GroupConvolution", "MatMul"}
        for op in ov.Core().read_model(str(path)).get_ordered_ops():
            if op.get_type_name() in weighted:
                name = op.get_friendly_name()
                assert name in executed or profile["fused"][name] in executed, name
    assert all(layer.ms >= 0 for layer in layers) and sum(layer.ms for layer in layers) > 0


def test_bench_profile_is_separate_from_the_timed_runs() -> None:
    path = FIXTURES / "tiny_mobilenetv2_fp32.onnx"
    plain = bench(path, threads=1, settings=SETTINGS)
    profiled = bench(path, threads=1, settings=SETTINGS, profile_runs=10)
    assert plain.profile is None and profiled.runs == plain.runs >= 10  # the timed runs are the same count
    summary = profiled.profile
    assert summary is not None and summary["runs"] == 10 and summary["macs"] == _macs(path)
    assert summary["coverage"] == pytest.approx(summary["profiled_ms"] / profiled.latency_ms.p50)
    assert abs(sum(entry["share"] for entry in summary["by_kind"].values()) - 1) < 1e-9


def test_litert_profiling_locally_is_one_clear_line() -> None:
    with pytest.raises(UsageError, match="no op profiler.*adb://"):
        profile_artifact(FIXTURES / "tiny_mobilenetv2_int8.tflite", 1, 5)


def test_native_op_profile_of_a_real_run() -> None:
    text = (FIXTURES / "benchmark_model" / "tflite_op_profiling_riscv.txt").read_text()
    layers = parse_op_profile(text)
    assert len(layers) == 31 and layers[0].op_type == "CONV_2D" and layers[-1].name.endswith(":30")
    per_type = {}
    for layer in layers:
        per_type[layer.op_type] = per_type.get(layer.op_type, 0.0) + layer.ms
    # the tool's own "Summary by node type"
    assert per_type["CONV_2D"] == pytest.approx(2651.853, abs=0.01)
    assert per_type["DEPTHWISE_CONV_2D"] == pytest.approx(296.919, abs=0.01)
    summary = summarise({"profiler": "benchmark_model", "layers": layers, "fused": {}}, parse_native(text).avg_ms, 50)
    assert summary["coverage"] == pytest.approx(2949.9 / 2950.34, abs=1e-3)
    assert summary["by_kind"]["depthwise conv"]["layers"] == 13


def test_native_profile_row_times_count_every_call() -> None:
    text = (
        "INFO: Operator-wise Profiling Info for Regular Benchmark Runs:\n"
        "============================== Run Order ==============================\n"
        "    [node type]      [first]   [avg ms]      [%]    [cdf%]   [mem KB]  [times called]  [Name]\n"
        "    QUANTIZE           0.199     0.203    1.328%    1.328%     0.000         1       [tfl.quantize]:0\n"
        "    Convolution (NHWC, QC8) DWConv   0.428   0.051   4.317%   8.304%   0.000   13   "
        "Delegate/Convolution (NHWC, QC8) DWConv:1\n\n"
    )
    quantize, depthwise = parse_op_profile(text)
    assert (quantize.kind, quantize.ms) == ("reorder", pytest.approx(0.203))
    assert (depthwise.kind, depthwise.calls, depthwise.ms) == ("depthwise conv", 13, pytest.approx(0.663))


def test_benchmark_model_is_asked_for_its_op_profile() -> None:
    command = tool_command("/data/local/tmp/benchmark_model", "m.tflite", 1, SETTINGS, "r.json", profile=True)
    assert "--enable_op_profiling=true" in command
    assert "--enable_op_profiling=true" not in tool_command("/x/benchmark_model", "m.tflite", 1, SETTINGS, "r")


def test_depthwise_model_is_what_the_onnx_package_reads() -> None:
    onnx = pytest.importorskip("onnx")
    for int8 in (False, True):
        model = onnx.load_from_string(depthwise_conv_model(32, 16, int8))
        onnx.checker.check_model(model)
        (node,) = model.graph.node
        assert node.op_type == ("QLinearConv" if int8 else "Conv")
        assert {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}["group"] == 32
        assert [i.name for i in model.graph.input] == ["x"]  # constant weights, as in an exported model
    import onnxruntime as ort
    from onnx import numpy_helper

    model_bytes = depthwise_conv_model(8, 6, False)
    (weights,) = [numpy_helper.to_array(t) for t in onnx.load_from_string(model_bytes).graph.initializer]
    x = np.random.default_rng(3).standard_normal((1, 8, 6, 6)).astype(np.float32)
    (y,) = ort.InferenceSession(model_bytes).run(None, {"x": x})
    padded = np.pad(x[0], ((0, 0), (1, 1), (1, 1)))
    expected = np.zeros((8, 6, 6), np.float32)
    for dy in range(3):
        for dx in range(3):  # each channel convolved with its own 3x3 filter, same padding
            expected += weights[:, 0, dy, dx, None, None] * padded[:, dy : dy + 6, dx : dx + 6]
    np.testing.assert_allclose(y[0], expected, rtol=1e-5, atol=1e-5)


def test_device_limits_are_real_measurements() -> None:
    from edgeconv.runtime.limits import bandwidth_gbs, depthwise_peaks

    assert 0.5 < bandwidth_gbs(1, repeats=2, size=32 * 2**20) < 2000  # GB/s: a DRAM-sized copy
    peaks = depthwise_peaks(1)
    assert set(peaks["onnxruntime"]) == {"fp32", "int8"}
    assert all(0 < value < 2000 for figures in peaks.values() for value in figures.values())


LIMITS = {"gemm_gmacs": 100.0, "depthwise_gmacs": 10.0, "bandwidth_gbs": 10.0}


def test_roofline_bound_is_the_larger_of_compute_and_memory() -> None:
    from edgeconv.runtime.profile.roofline import layer_bound, roofline

    pointwise = {"name": "pw", "kind": "pointwise conv", "macs": 10**7, "bytes": 10**5, "ms": 0.2}
    depthwise = {"name": "dw", "kind": "depthwise conv", "macs": 10**6, "bytes": 4 * 10**6, "ms": 0.8}
    add = {"name": "add", "kind": "elementwise", "macs": 0, "bytes": 10**6, "ms": 0.1}
    assert layer_bound(pointwise, LIMITS) == (pytest.approx(0.1), "compute")  # 1e7 MAC at 100 GMAC/s
    assert layer_bound(depthwise, LIMITS) == (pytest.approx(0.4), "memory")  # 4 MB at 10 GB/s > 0.1 ms
    assert layer_bound(add, LIMITS) == (pytest.approx(0.1), "memory")
    result = roofline({"layers": [pointwise, depthwise, add]}, LIMITS, p50_ms=1.2)
    assert result["bound_ms"] == pytest.approx(0.6) and result["efficiency"] == pytest.approx(0.5)
    assert result["by_kind"]["depthwise conv"]["efficiency"] == pytest.approx(0.5)
    assert result["loses_most"] == "depthwise conv"  # 0.4 ms over its bound, the pointwise 0.1


def test_stored_profile_gets_its_roofline_from_the_stored_limits(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "r.sqlite"
    assert cli("info", "--peak", "--threads", "1", "--db", db).code == 0
    done = cli("bench", FIXTURES / "tiny_mobilenetv2_fp32.onnx", "-t", "1", "--runs", "10", "--profile", "--db", db)
    assert done.code == 0, done.stderr
    assert "roofline:" in done.stdout and "loses most against its bound" in done.stdout
    import sqlite3

    with sqlite3.connect(db) as connection:
        (stored,) = connection.execute("SELECT result_json FROM bench").fetchone()
    roof = json.loads(stored)["profile"]["roofline"]
    assert roof["limits"]["bandwidth_gbs"] > 0 and roof["efficiency"] > 0
    assert len(roof["layers"]) == len(json.loads(stored)["profile"]["layers"])


def test_tflite_graph_layers_account_for_every_mac() -> None:
    pytest.importorskip("ai_edge_litert")
    from edgeconv.runtime.profile.tflite_graph import tflite_layers

    path = FIXTURES / "tiny_mobilenetv2_int8.tflite"
    layers = tflite_layers(path)
    assert sum(layer.macs for layer in layers) == _macs(path)
    assert sum(layer.kind == "depthwise conv" for layer in layers) == 17  # MobileNetV2's 17 inverted residuals
    assert all(layer.bytes > 0 for layer in layers)


def test_native_output_without_an_op_table_is_one_line() -> None:
    from edgeconv.errors import ArtifactError
    from edgeconv.runtime.profile.native_ops import native_profile

    text = (FIXTURES / "benchmark_model" / "tflite_2_x_peak_memory.txt").read_text()  # a run without profiling
    with pytest.raises(ArtifactError, match="benchmark_model printed no op profiling table"):
        native_profile(text, "benchmark_model")
    truncated = "Operator-wise Profiling Info for Regular Benchmark Runs:\n=== Run Order ===\n"  # cut off
    assert parse_op_profile(truncated) == []
