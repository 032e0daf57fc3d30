"""The default sweep (the README's main job): wall time, measurements against an exhaustive grid, and the
latency model's prediction error on every candidate.

1. Runs the README's sweep command in a fresh database and times it (goal: under 10 minutes on 2 cores).
2. Measures every candidate width at every resolution with the same probes (the exhaustive grid; each point
   the median of --grid-rounds interleaved measurements, half taken just before the sweep and half just after
   it, so that the machine's drift over those minutes cancels), checks that the search found the widest width
   under budget that the grid finds, and predicts every grid point with the latency model fitted on the
   search's own measurements (goal: 90% within +-10%).
Writes benchmarks/results/sweep.{json,md}.

    python benchmarks/sweep.py
"""

from __future__ import annotations

import argparse
import inspect
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.progress import track

from edgeconv.cli.options import bench_settings_from, train_config_from
from edgeconv.cli.sweep_cmd import sweep_command, sweep_config
from edgeconv.results import open_store
from edgeconv.runtime.artifact_info import artifact_sha256
from edgeconv.sweep import SweepConfig, plan_sweep
from edgeconv.sweep.artifacts import ArtifactMaker
from edgeconv.sweep.latency_model import LatencyModel, Point
from edgeconv.sweep.problem import Problem
from edgeconv.targets import get_target

RESULTS = Path(__file__).parent / "results"
Key = tuple[float, int]
README_SWEEP = Path(__file__).parent.parent / "Makefile"


def readme_command() -> list[str]:
    """The sweep arguments of `make demo` (the README's main job), read from the Makefile."""
    for line in README_SWEEP.read_text().splitlines():
        if "edgeconv sweep" in line:
            words = shlex.split(line.strip().replace("$(VENV)/bin/", "").replace("$(DEMO_DIR)", "runs/demo"))
            return words[words.index("sweep") :]
    raise SystemExit("no `edgeconv sweep` line in the Makefile")


def verdict(agree: list[dict[str, Any]]) -> str:
    """SAME when the search found the grid's widths; WITHIN NOISE when every width between the two answers was
    measured on both sides of the budget (by the grid's rounds or the search's own samples); DIFFER otherwise."""
    if all(a["search"] == a["grid"] for a in agree):
        return "SAME"
    if all(a["within_noise"] for a in agree):
        undecided = "; ".join(
            f"{a['resolution']} px: {', '.join(f'{w:g}' for w in a['undecided_widths'])}"
            for a in agree
            if a["undecided_widths"]
        )
        return f"WITHIN NOISE: these widths were measured on both sides of the budget ({undecided})"
    return "DIFFER"


def readme_config(args: list[str]) -> SweepConfig:
    """The SweepConfig of the README's sweep, parsed by the `edgeconv sweep` command itself."""
    params = dict(sweep_command.make_context("sweep", list(args[1:])).params)
    bench, train = bench_settings_from(params), train_config_from(params)
    wanted = [name for name in inspect.signature(sweep_config).parameters if name not in ("bench", "train")]
    config = sweep_config(**{name: params[name] for name in wanted}, bench=bench, train=train)
    return plan_sweep(config).lanes[0].config


def measure_rounds(
    target: Any, paths: dict[Key, Path], config: SweepConfig, rounds: dict[Key, list[float]], count: int, phase: str
) -> None:
    """``count`` interleaved rounds over every grid point (each round visits every point once)."""
    for index in range(count):
        for key in track(list(paths), description=f"grid {phase} the sweep, round {index + 1}/{count}", transient=True):
            rounds[key].append(target.measure(paths[key], config.measure_options()).stat(config.stat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--grid-rounds",
        type=int,
        default=4,
        help="measurements of each grid point, half before the sweep and half after it (median)",
    )
    grid_rounds = parser.parse_args().grid_rounds
    args = readme_command()
    config = readme_config(args)
    work = Path(tempfile.mkdtemp(prefix="edgeconv-sweep-bench-"))
    out_dir, db = work / "out", work / "results.sqlite"
    target = get_target("local")

    # The exhaustive grid: the same probe artifacts (exported in a directory and database of its own, so the
    # timed sweep finds nothing ready) and the same measurement settings. The machine drifts by 10% or more over
    # minutes, so half of the grid rounds run just before the sweep and half just after it; each grid point is
    # the median of its rounds.
    with open_store(work / "grid.sqlite") as store:
        problem = Problem(config.model, config.data, config.widths)
        maker = ArtifactMaker(config, problem, target.device())
        keys = [(w, r) for r in config.resolutions for w in problem.candidate_widths(r)]
        probes = track(keys, description="probe artifacts", transient=True)
        paths = {k: maker.probe(*k, work / "grid" / "probes") for k in probes}
        features = {key: problem.feature(*key) for key in keys}
    rounds: dict[Key, list[float]] = {key: [] for key in keys}
    measure_rounds(target, paths, config, rounds, grid_rounds // 2, "before")

    if "--out" in args:  # the demo's own output directory is replaced by a scratch one
        del args[args.index("--out") : args.index("--out") + 2]
    args += ["--out", str(out_dir), "--db", str(db), "--json"]
    print("running: edgeconv", " ".join(args), flush=True)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "edgeconv", *args], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    summary = json.loads(proc.stdout)

    measure_rounds(target, paths, config, rounds, grid_rounds - grid_rounds // 2, "after")
    before = grid_rounds // 2
    drift = (
        statistics.median(statistics.median(v[before:]) / statistics.median(v[:before]) for v in rounds.values())
        if before
        else 1.0
    )
    grid = {key: statistics.median(values) for key, values in rounds.items()}
    spread = statistics.median((max(v) - min(v)) / statistics.median(v) for v in rounds.values())
    budget = config.budget_ms
    with open_store(db) as store:  # every sample the search took of each probe it measured
        searched_samples = {
            (p["width"], p["resolution"]): [
                b.stat(config.stat)
                for _, b in store.find_benches(artifact_sha256(Path(p["artifact"])), target.device_id, config.threads)
            ]
            for p in summary["probes"]
        }
    agree = []
    for search in summary["searches"]:
        r = search["resolution"]
        fitting = [w for (w, res), value in grid.items() if res == r and value <= budget]
        best = max(fitting) if fitting else None
        between = [
            w
            for (w, res) in grid
            if res == r and min(search["best_width"] or 0, best or 0) < w <= max(search["best_width"] or 0, best or 0)
        ]
        # Widths measured on both sides of the budget (grid rounds and search samples): no one answer is right.
        seen = {w: rounds[(w, r)] + searched_samples.get((w, r), []) for w in between}
        undecided = [w for w in sorted(between) if min(seen[w]) <= budget <= max(seen[w])]
        agree.append(
            {
                "resolution": r,
                "search": search["best_width"],
                "grid": best,
                "within_noise": undecided == sorted(between),
            }
        )
        agree[-1]["undecided_widths"] = undecided
    searched = [
        Point(p["width"], p["resolution"], features[(p["width"], p["resolution"])], p["latency_ms"])
        for p in summary["probes"]
    ]
    model = LatencyModel().fit(searched)
    errors = {key: model.predict(features[key]) / value - 1 for key, value in grid.items()}  # type: ignore[operator]
    within = sum(abs(e) <= 0.10 for e in errors.values()) / len(errors)
    report = {
        "command": "edgeconv " + " ".join(readme_command()),
        "wall_seconds": round(wall, 1),
        "measurements": summary["measurements"],
        "exhaustive_measurements": summary["exhaustive_measurements"],
        "search_vs_grid": agree,
        "model_fit_on_search_points": summary["latency_model"],
        "grid_prediction_within_10pct": within,
        "grid_rounds": grid_rounds,
        "grid_round_spread_median": spread,
        "grid_drift_after_over_before": drift,
        "grid_errors": [
            {
                "width": w,
                "resolution": r,
                "measured_ms": grid[(w, r)],
                "rounds_ms": rounds[(w, r)],
                "search_samples_ms": searched_samples.get((w, r), []),
                "error": e,
            }
            for (w, r), e in sorted(errors.items())
        ],
        "selection": summary["selection"]["reason"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sweep.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# The default sweep",
        "",
        f"`{report['command']}`",
        "",
        f"- wall time: {wall:.0f} s (goal < 600 s: **{'PASS' if wall < 600 else 'FAIL'}**)",
        f"- latency measurements: {summary['measurements']} by the search, {summary['exhaustive_measurements']} for "
        "the exhaustive grid",
        "- search vs grid (widest width under budget): "
        + ", ".join(f"{a['resolution']} px: {a['search']} vs {a['grid']}" for a in agree)
        + f" (**{verdict(agree)}**)",
        f"- latency model fitted on the search's points, predicting every grid point: {within:.0%} within +-10% "
        f"(goal 90%: **{'PASS' if within >= 0.9 else 'FAIL'}**); each grid point is the median of {grid_rounds} "
        f"interleaved measurements ({grid_rounds // 2} before the sweep, the rest after it: the machine ran "
        f"{drift:.0%} as fast after as before, median over points), whose spread (max-min over median) is "
        f"{spread:.0%} at the median point",
        f"- selection: {report['selection']}",
        "",
        "| width | px | measured ms | model error |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {g['width']:g} | {g['resolution']} | {g['measured_ms']:.3f} | {g['error']:+.1%} |"
        for g in report["grid_errors"]
    ]
    (RESULTS / "sweep.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
