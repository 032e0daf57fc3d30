"""LiteRT int8 over fp32 under every CPU path ai-edge-litert offers, on the .tflite files benchmarks/formats.py
exported (run it first): the Interpreter with its default XNNPACK delegate (what edgeconv runs), the same with
the delegate's latest features, and the CompiledModel API on the CPU accelerator. fp32 and int8 of each width
are timed in interleaved rounds at one thread; each cell is the median of the rounds' medians.
Writes benchmarks/results/litert_cpu_paths.{json,md}.

    python benchmarks/litert_cpu_paths.py [--work runs/bench_formats] [--resolution 224] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.compiled_model import CompiledModel
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.options import CpuOptions, Options

from edgeconv.quiet import quiet

RESULTS = Path(__file__).parent / "results"
PATHS = ("interpreter", "interpreter, latest delegate features", "CompiledModel (CPU)")


def runner(path: Path, how: str) -> Callable[[], None]:
    """One inference of ``path`` through the CPU path ``how`` (inputs written once, outside the timing)."""
    if how == "CompiledModel (CPU)":
        model = CompiledModel.from_file(str(path), options=Options(cpu_options=CpuOptions(num_threads=1)))
        signature = next(iter(model.get_signature_list()))
        inputs = {n: model.create_input_buffer_by_name(signature, n) for n in model.get_input_tensor_details(signature)}
        outputs = {
            n: model.create_output_buffer_by_name(signature, n) for n in model.get_output_tensor_details(signature)
        }
        return lambda: model.run_by_name(signature, inputs, outputs)
    interpreter = Interpreter(
        model_path=str(path), num_threads=1, experimental_default_delegate_latest_features=how != "interpreter"
    )
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    return interpreter.invoke


def median_ms(run: Callable[[], None], seconds: float = 1.0) -> float:
    for _ in range(10):
        run()
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < 30:
        t0 = time.perf_counter_ns()
        run()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("runs/bench_formats"), help="formats.py's --work")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pairs = [
        (fp32, fp32.with_name(fp32.name.replace("_fp32", "_int8")))
        for fp32 in sorted(args.work.glob(f"exports_*/*_r{args.resolution}_fp32.tflite"))
    ]
    pairs = [(f, q) for f, q in pairs if q.is_file()]
    if not pairs:
        raise SystemExit(f"no fp32/int8 .tflite pairs at {args.resolution} px under {args.work}: run formats.py first")
    with quiet():  # the runtime announces its delegates on stderr
        runs = {(f.name, q.name, how, p): runner(p, how) for f, q in pairs for how in PATHS for p in (f, q)}
    samples: dict[tuple[Any, ...], list[float]] = {key: [] for key in runs}
    for index in range(args.rounds):
        for key, run in runs.items():
            samples[key].append(median_ms(run))
        print(f"round {index + 1}/{args.rounds}", flush=True)
    rows = []
    for f, q in pairs:
        for how in PATHS:
            fp32 = statistics.median(samples[(f.name, q.name, how, f)])
            int8 = statistics.median(samples[(f.name, q.name, how, q)])
            rows.append({"fp32": f.name, "path": how, "fp32_ms": fp32, "int8_ms": int8, "speedup": fp32 / int8})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "litert_cpu_paths.json").write_text(json.dumps({"rounds": args.rounds, "rows": rows}, indent=2) + "\n")
    lines = [
        f"# LiteRT int8 over fp32 by CPU path ({args.resolution} px, 1 thread, median of {args.rounds} rounds)",
        "",
        "| model | CPU path | fp32 ms | int8 ms | int8 speed-up |",
        "|---|---|---|---|---|",
        *[
            f"| {r['fp32'].replace('_fp32.tflite', '')} | {r['path']} | {r['fp32_ms']:.2f} | {r['int8_ms']:.2f} | "
            f"{r['speedup']:.2f}x |"
            for r in rows
        ],
    ]
    (RESULTS / "litert_cpu_paths.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
