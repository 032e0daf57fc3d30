"""``run_sweep``: every lane of a checked :class:`SweepPlan` on one target, one selection across them, and
the outcome persisted once: ``OUT/sweep.json`` (one lane) or ``OUT/lanes.json`` (several), the ``sweeps``
row, and ``OUT/selected/``.

A family's lanes share its :class:`Problem` (data, features, widths) and its trained checkpoints
(``OUT/[<family>/]candidates``): a width is trained once, then exported to every format and precision. A
lane whose narrowest width is over budget is reported with its fastest measured latency and never trained.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeconv.atomic import write_json
from edgeconv.fastest import fastest_per_width, int8_vs_fp32
from edgeconv.models.registry import get_spec
from edgeconv.results import ResultsStore
from edgeconv.runtime.artifact_info import artifact_files, sidecar_path
from edgeconv.select import Selection, pareto_front, select
from edgeconv.staging import make_staging
from edgeconv.sweep.artifacts import ArtifactMaker
from edgeconv.sweep.config import SweepPlan
from edgeconv.sweep.lane import LaneOutcome, run_lane
from edgeconv.sweep.measurer import Measurer
from edgeconv.sweep.problem import Problem
from edgeconv.sweep.trainer import FitTrainer, Trainer
from edgeconv.targets import Target

Log = Callable[[str], None]
LANES_KIND, SINGLE_KIND = "lanes", "single"  # the report kinds of OUT/lanes.json and OUT/sweep.json


def run_sweep(
    plan: SweepPlan,
    out_dir: Path,
    store: ResultsStore,
    target: Target,
    log: Log,
    trainer: Trainer | None = None,
) -> dict[str, Any]:
    """Run ``plan`` on ``target`` into ``out_dir``; returns the summary it persisted. ``trainer`` defaults to
    edgeconv's own training with the plan's epochs and pretrained weights."""
    out_dir = Path(out_dir)
    config = plan.config
    # a finalist derived from the fine-tuned pretrained width learns from its soft targets only with --distil
    train = config.train if config.distil else replace(config.train, kd_alpha=0.0)
    trainer = trainer or FitTrainer(train, config.weights, config.device, config.workers)
    device = target.device()
    problems: dict[str, Problem] = {}
    outcomes: list[LaneOutcome] = []
    for index, lane in enumerate(plan.lanes, start=1):
        name = lane.path(plan.families_vary, plan.runtimes_vary).as_posix()
        if len(plan.lanes) > 1:
            log(f"lane {name} ({index} of {len(plan.lanes)})")
        problem = problems.get(lane.family) or Problem(
            lane.family, config.data, lane.config.widths, config.train.seed, config.load
        )
        problems[lane.family] = problem
        measurer = Measurer(store, target, log, lane.config.measure_options(), lane.config.stat, lane.config.remeasure)
        maker = ArtifactMaker(lane.config, problem, device)
        lane_dir, train_dir = plan.lane_dir(out_dir, lane), plan.train_dir(out_dir, lane)
        outcome = run_lane(lane, problem, maker, measurer, trainer, lane_dir, train_dir, log)
        outcome.device = measurer.device or {"device_id": target.device_id}
        outcomes.append(outcome)
        if len(plan.lanes) > 1 and not outcome.fits:
            fastest = outcome.efficiency()["fastest"]
            log(
                f"lane {name}: over budget even at width {fastest['width']:g} "
                f"({fastest['latency_ms']:.3f} ms); not trained"
            )
    if len(outcomes) == 1:
        summary, selection = lane_summary(outcomes[0], out_dir, target), outcomes[0].selection
        name = "sweep.json"
    else:
        selection = select([c for o in outcomes for c in o.candidates], config.budget_ms, config.stat)
        summary, name = lanes_summary(plan, outcomes, selection, out_dir, target), "lanes.json"
    write_json(out_dir / name, summary)
    store.add_sweep(summary)
    copy_selected(selection, out_dir)
    return summary


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def lane_summary(outcome: LaneOutcome, out_dir: Path, target: Target) -> dict[str, Any]:
    """A lane as ``sweep.json`` records it (and as each entry of ``lanes.json`` embeds it)."""
    config, stat = outcome.lane.config, outcome.lane.config.stat
    return {
        "kind": SINGLE_KIND,
        "out_dir": str(out_dir.resolve()),
        "device_id": target.device_id,
        "config": config.to_dict(),
        "probes": outcome.probes,
        "searches": outcome.searches_dict(),
        "measurements": sum(s.measurements for s in outcome.searches),
        "exhaustive_measurements": outcome.exhaustive_measurements,
        "reused_measurements": outcome.reused_measurements,
        "latency_model": outcome.latency_model.summary(),
        "model_curve": outcome.model_curve,
        "pareto": [c.to_dict() for c in pareto_front(outcome.candidates, stat)],
        "device": outcome.device,
        "target": target.name,
        "finalists": [{"width": w, "resolution": r} for w, r in outcome.finalists],
        "efficiency": outcome.efficiency(),
        "selection": outcome.selection.to_dict(),
        "finished_at": _now(),
    }


def lanes_summary(
    plan: SweepPlan, outcomes: list[LaneOutcome], selection: Selection, out_dir: Path, target: Target
) -> dict[str, Any]:
    """``lanes.json``: each lane (its own summary embedded), and the selection and Pareto front across them."""
    entries = []
    for outcome in outcomes:
        lane = outcome.lane
        lane_dir = plan.lane_dir(out_dir, lane)
        entries.append(
            {
                "lane": lane.path(plan.families_vary, plan.runtimes_vary).as_posix(),
                "family": lane.family,
                "format": lane.format,
                "precision": lane.precision,
                "int8_scheme": outcome.int8_scheme,
                "group": get_spec(lane.family).group,
                "baseline": lane.family == plan.baseline,
                "out": str(lane_dir.resolve()),
                "fits": outcome.fits,
                "chosen": outcome.selection.to_dict()["chosen"],
                "candidates": len(outcome.candidates),
                "efficiency": outcome.efficiency(),
                "probes": outcome.probes,
                "model_curve": outcome.model_curve,
                "summary": lane_summary(outcome, lane_dir, target),
            }
        )
    config = plan.config
    return {
        "kind": LANES_KIND,
        "out_dir": str(out_dir.resolve()),
        "device_id": target.device_id,
        "target": target.name,
        "config": {**config.to_dict(), "model": ",".join(plan.families), "models": plan.families},
        "baseline": plan.baseline,
        "lanes": entries,
        "fastest_per_width": fastest_per_width(entries),
        "int8_vs_fp32": int8_vs_fp32(entries),
        "selection": selection.to_dict(),
        "pareto": [c.to_dict() for c in pareto_front(selection.candidates, config.stat)],
        "device": outcomes[-1].device,
        "finished_at": _now(),
    }


def copy_selected(selection: Selection, out_dir: Path) -> None:
    """Copy the chosen artifact (with its companions and sidecar) to ``out_dir/selected/``, replacing what a
    previous run put there. The copy is made in a staging directory and renamed into place, so that a killed
    sweep leaves either the old ``selected/``, none, or the new one, never a half-copied file."""
    selected = out_dir / "selected"
    staging = make_staging(out_dir)
    if selection.chosen is not None:
        source = Path(selection.chosen.artifact_path)
        (staging / "selected").mkdir()
        for file in [*artifact_files(source), sidecar_path(source)]:
            shutil.copy2(file, staging / "selected" / file.name)
    if selected.exists():
        os.replace(selected, staging / "previous")
    if selection.chosen is not None:
        os.replace(staging / "selected", selected)
    shutil.rmtree(staging)
