"""Why edgeconv's OpenVINO latency and benchmark_app's median differ, measured two ways on the IR files that
benchmarks/formats.py exported (run it first).

1. One process, one clock pair: every inference of edgeconv's timed loop is timed by edgeconv (wall clock around
   the call) and by the plugin itself (``InferRequest.latency``, the timer behind benchmark_app's median). Their
   ratio is what edgeconv adds by timing the whole Python call: the binding, no machine drift in it.
2. Two processes, back to back: ``edgeconv bench`` (the `local` target) then benchmark_app -api sync, --pairs
   times on one IR, to show how far this machine's speed moves between two processes seconds apart.
Writes benchmarks/results/openvino_timer.{json,md}.

    python benchmarks/openvino_timer.py [--work runs/bench_formats] [--threads 1] [--pairs 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from formats import benchmark_app

from edgeconv.runtime.backends.openvino import OpenVINOSession, load
from edgeconv.runtime.bench import BenchSettings, sample_input
from edgeconv.targets import LocalTarget
from edgeconv.targets.measure_options import MeasureOptions

RESULTS = Path(__file__).parent / "results"


def two_clocks(path: Path, threads: int, seconds: float = 2.0) -> dict[str, float]:
    """Median wall time of edgeconv's timed call and median plugin latency of the same inferences (ms)."""
    session = load(path, threads=threads)
    assert isinstance(session, OpenVINOSession)
    x = sample_input(session)
    session.run(x)
    walls, plugin = [], []
    end = time.perf_counter() + seconds + 0.5
    while time.perf_counter() < end:
        t0 = time.perf_counter_ns()
        session.run_accepted(x)
        walls.append((time.perf_counter_ns() - t0) / 1e6)
        plugin.append(session.plugin_latency_ms())
    walls, plugin = walls[len(walls) // 5 :], plugin[len(plugin) // 5 :]  # the first 20% warm up
    wall, own = statistics.median(walls), statistics.median(plugin)
    return {"edgeconv_ms": wall, "plugin_ms": own, "ratio": wall / own, "inferences": len(walls)}


def process_pairs(path: Path, threads: int, pairs: int) -> list[dict[str, float]]:
    """``pairs`` back-to-back (edgeconv bench p50, benchmark_app median) measurements of one IR."""
    target, settings = LocalTarget(), BenchSettings(warmup_runs=20, warmup_seconds=0.5, runs=100, min_seconds=1.5)
    rows = []
    for _ in range(pairs):
        ours = target.measure(path, MeasureOptions(threads, settings)).latency_ms.p50
        theirs, _ = benchmark_app(str(path), threads, 2)
        rows.append({"edgeconv_ms": ours, "benchmark_app_ms": theirs, "ratio": ours / theirs})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("runs/bench_formats"), help="formats.py's --work")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=6, help="process pairs on the first 224-px int8 IR")
    args = parser.parse_args()
    irs = sorted(args.work.glob("exports_*/*.xml"))
    if not irs:
        raise SystemExit(f"no OpenVINO IR under {args.work}/exports_*: run benchmarks/formats.py first")
    clocks = []
    for path in irs:
        clocks.append({"file": path.name, **two_clocks(path, args.threads)})
        print(f"{path.name}: edgeconv / plugin timer {clocks[-1]['ratio']:.3f}", flush=True)
    paired_ir = next((p for p in irs if "_r224_int8" in p.name), irs[0])
    pairs = process_pairs(paired_ir, args.threads, args.pairs)
    report: dict[str, Any] = {"threads": args.threads, "two_clocks": clocks, "pairs_file": paired_ir.name}
    report["process_pairs"] = pairs
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "openvino_timer.json").write_text(json.dumps(report, indent=2) + "\n")
    ratios = [c["ratio"] for c in clocks]
    lines = [
        "# edgeconv's OpenVINO timing against the plugin's own timer",
        "",
        f"{args.threads} thread(s). One process, the same inferences timed by both clocks: edgeconv / plugin "
        f"median {statistics.median(ratios):.3f}, range {min(ratios):.3f} .. {max(ratios):.3f} over {len(ratios)} "
        "IR files (the Python call around the plugin's work).",
        "",
        "| IR | edgeconv ms | plugin ms | ratio |",
        "|---|---|---|---|",
        *[f"| {c['file']} | {c['edgeconv_ms']:.3f} | {c['plugin_ms']:.3f} | {c['ratio']:.3f} |" for c in clocks],
        "",
        f"Back-to-back processes on {paired_ir.name} (edgeconv bench p50, then benchmark_app -api sync median):",
        "",
        "| edgeconv ms | benchmark_app ms | ratio |",
        "|---|---|---|",
        *[f"| {p['edgeconv_ms']:.3f} | {p['benchmark_app_ms']:.3f} | {p['ratio']:.3f} |" for p in pairs],
    ]
    (RESULTS / "openvino_timer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
