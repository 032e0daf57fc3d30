"""``run_lane``: one lane's latency search on random-weight probes, then its finalists trained, exported,
evaluated and measured; returns a typed :class:`LaneOutcome` and persists nothing itself.

Latency does not depend on the weights, so the search measures probe artifacts (cheap to make) and only the
finalists (per resolution, the widest width under budget and the next narrower one measured) are trained.
Every result is stored as soon as it exists, and every step first looks for its result (files, rows in the
results database), so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.checkpoint import load_checkpoint, weights_record
from edgeconv.errors import EdgeconvError
from edgeconv.evaluate import DataCache, evaluate
from edgeconv.exporters.gate import AccuracyGateError
from edgeconv.models import create_model
from edgeconv.models.factory import model_config, model_stem
from edgeconv.models.published import choose_weights, describe_init, is_published_name, weights_for
from edgeconv.models.registry import get_spec
from edgeconv.runtime.artifact_info import artifact_sha256
from edgeconv.runtime.profile.digest import digest
from edgeconv.select import Candidate, Selection, by_width, make_candidate, select
from edgeconv.sweep.artifacts import ArtifactMaker
from edgeconv.sweep.config import Lane
from edgeconv.sweep.latency_model import LatencyModel
from edgeconv.sweep.measurer import Measurer
from edgeconv.sweep.problem import Problem
from edgeconv.sweep.search import CONFIRM_SAMPLES, SearchResult, coarse_indices, search_width
from edgeconv.sweep.trainer import Trainer
from edgeconv.train.transfer import file_width

# the teacher is fine-tuned once for every candidate of its family, so it gets twice the candidates' epochs:
# EfficientNet-lite0 from ImageNet on 20 MNIST digits a class (64 px, batch 16, 3 seeds, one machine) reached 88.3%
# after 24 epochs against 74.8% after 12, and the 0.35 / 0.5 widths derived from it (12 epochs each) 79.9 / 86.7%
# against 70.1 / 80.0%
TEACHER_EPOCHS_SCALE = 2

Log = Callable[[str], None]


@dataclass
class LaneOutcome:
    """What one lane found: its searches, probes, finalists, candidates and selection."""

    lane: Lane
    searches: list[SearchResult]
    probes: list[dict[str, Any]]
    finalists: list[tuple[float, int]]
    latency_model: LatencyModel
    model_curve: list[dict[str, Any]]
    exhaustive_measurements: int
    reused_measurements: int
    int8_scheme: str | None
    selection: Selection
    device: dict[str, Any] | None = None  # the target's fingerprint, from the lane's measurements

    @property
    def fits(self) -> bool:
        return any(s.best_width is not None for s in self.searches)

    @property
    def candidates(self) -> list[Candidate]:
        return self.selection.candidates

    def efficiency(self) -> dict[str, Any]:
        """What this family's probes cost on the target per unit of work and of size: the median over the
        probes of milliseconds per GMAC and per million parameters, and the fastest probe."""
        if not self.probes:
            return {}
        fastest = min(self.probes, key=lambda p: p["latency_ms"])
        return {
            "ms_per_gmac": float(np.median([p["latency_ms"] / (p["mmacs"] / 1e3) for p in self.probes])),
            "ms_per_mparam": float(np.median([p["latency_ms"] / p["mparams"] for p in self.probes])),
            "fastest": {k: fastest[k] for k in ("width", "resolution", "latency_ms", "mmacs", "mparams")},
            "probes": len(self.probes),
        }

    def searches_dict(self) -> list[dict[str, Any]]:
        return [
            {"resolution": s.resolution, "best_width": s.best_width, "measurements": s.measurements}
            for s in self.searches
        ]


def run_lane(
    lane: Lane,
    problem: Problem,
    maker: ArtifactMaker,
    measurer: Measurer,
    trainer: Trainer,
    lane_dir: Path,
    train_dir: Path,
    log: Log,
) -> LaneOutcome:
    """Search, then finish the finalists of ``lane``; probes go to ``lane_dir/probes``, finalists are trained
    in ``train_dir/<stem>/`` (shared by the family's lanes) and exported beside their checkpoints."""
    config = lane.config
    model = LatencyModel()
    probes: dict[tuple[float, int], dict[str, Any]] = {}

    def probe(width: float, resolution: int, samples: int = 1) -> float:
        path = maker.probe(width, resolution, lane_dir / "probes")
        value = measurer.latency(path, samples)
        features = problem.feature(width, resolution)
        probes.pop((width, resolution), None)  # the latest measurement last
        probes[(width, resolution)] = {
            "width": width,
            "resolution": resolution,
            "latency_ms": value,
            "samples": samples,
            "mmacs": features.mmacs,
            "mparams": features.mparams,
            "artifact": str(path),
        }
        note = f" (median of {samples})" if samples > 1 else ""
        log(f"probe  w{width:g} r{resolution}: {config.stat} {value:.3f} ms{note}")
        return value

    searches = []
    for resolution in config.resolutions:
        widths = problem.candidate_widths(resolution)
        log(f"search r{resolution}: {len(widths)} distinct widths {widths[0]:g}..{widths[-1]:g}")
        if measurer.parallel > 1:  # the coarse grid at once, one probe per board
            grid = [widths[i] for i in coarse_indices(len(widths))]
            measurer.prefetch([maker.probe(w, resolution, lane_dir / "probes") for w in grid])
        search = search_width(widths, resolution, config.budget_ms, probe, problem.feature, model)
        searches.append(search)
        found = f"w{search.best_width:g}" if search.best_width is not None else "no width fits"
        log(f"search r{resolution}: {found} after {search.measurements} of {len(widths)} measurements")
    finalists = _finalists(searches, problem)
    peak = measurer.store.find_peak(measurer.device_id)
    teacher, teacher_at = _pretrained_teacher(lane, problem, trainer, train_dir, finalists, log)
    found_candidates = []
    for index, (width, resolution) in enumerate(finalists):  # widest first: the teacher when distilling
        student_of = teacher if (width, resolution) != teacher_at and (index or teacher_at) else None
        checkpoint = _trained(lane, problem, trainer, train_dir, width, resolution, student_of, log)
        if config.distil and teacher is None:
            teacher = checkpoint
        candidate = _finish(checkpoint, problem, maker, measurer, peak, config.remeasure, log, config.profile)
        if candidate is not None:
            found_candidates.append(candidate)
    return LaneOutcome(
        lane=lane,
        searches=searches,
        probes=list(probes.values()),
        finalists=finalists,
        latency_model=model,
        model_curve=[_curve(model, problem, r) for r in config.resolutions],
        exhaustive_measurements=sum(len(problem.candidate_widths(r)) for r in config.resolutions),
        reused_measurements=measurer.reused,
        int8_scheme=maker.int8_scheme,
        selection=select(by_width(found_candidates), config.budget_ms, config.stat),
    )


def _finalists(searches: list[SearchResult], problem: Problem) -> list[tuple[float, int]]:
    """Per resolution: the widest width under budget and the next narrower measured width; widest first."""
    chosen = []
    for search in searches:
        if search.best_width is None:
            continue
        chosen.append((search.best_width, search.resolution))
        narrower = [w for w in search.measured if w < search.best_width]
        if narrower:
            chosen.append((max(narrower), search.resolution))
    return sorted(chosen, key=lambda wr: problem.feature(*wr).mmacs, reverse=True)


def _pretrained_teacher(
    lane: Lane, problem: Problem, trainer: Trainer, train_dir: Path, finalists: list[tuple[float, int]], log: Log
) -> tuple[Path | None, tuple[float, int] | None]:
    """With pretrained ``--weights``: the checkpoint of the weights' own width fine-tuned once on the user's data,
    at the widest finalist's resolution, in the family's shared training directory (so every lane and every later
    run reuses it), and where it is. Every narrower finalist is derived from it (with ``--distil``, it also learns
    from its soft targets): on 20 MNIST digits a class, EfficientNet-lite0 0.5 derived from the fine-tuned width
    reached 86.7% against 50.2% derived from the ImageNet file (3 seeds, ``benchmarks/results/transfer.md``). Without
    weights: none (with ``--distil`` the widest finalist teaches the others)."""
    weights = weights_for(lane.config.weights, lane.family)
    if not (weights and finalists):
        return None, None
    width, resolution = finalists[0]
    if is_published_name(weights):
        own: float | None = choose_weights(weights, lane.family, width, get_spec(lane.family).weights).width
    else:
        own = file_width(Path(weights), lane.family, width, problem.classes(resolution))
    at = (own if own is not None else width, resolution)
    epochs = TEACHER_EPOCHS_SCALE * lane.config.train.epochs
    log(
        f"teacher w{at[0]:g} r{resolution}: the pretrained width, fine-tuned once for {epochs} epochs; "
        "every candidate derives from it"
    )
    return _trained(lane, problem, trainer, train_dir, *at, None, log, epochs), at


def _trained(
    lane: Lane,
    problem: Problem,
    trainer: Trainer,
    train_dir: Path,
    width: float,
    resolution: int,
    teacher: Path | None,
    log: Log,
    epochs: int | None = None,
) -> Path:
    """The finalist's checkpoint, trained now (a student of ``teacher``'s checkpoint, if given; for ``epochs``
    instead of the configured number, if given) unless a previous run finished it."""
    stem = model_stem({"model": lane.family, "width": width, "resolution": resolution})
    run_dir = train_dir / stem
    checkpoint = run_dir / f"{stem}.pt"
    if checkpoint.is_file() and checkpoint.with_suffix(".train.json").is_file():
        log(f"train  w{width:g} r{resolution}: done in an earlier run")
        return checkpoint
    data = problem.splits(resolution)
    net = create_model(lane.family, width, len(data.class_names), resolution, seed=lane.config.train.seed)
    how = (" (distilled)" if lane.config.distil else " (from the teacher)") if teacher else ""
    log(f"train  w{width:g} r{resolution}: {epochs or lane.config.train.epochs} epochs{how}")
    return trainer(net, data, run_dir, teacher, lambda line: log(f"train  w{width:g} r{resolution}: {line}"), epochs)


def _finish(
    checkpoint: Path,
    problem: Problem,
    maker: ArtifactMaker,
    measurer: Measurer,
    peak: dict[str, Any] | None,
    remeasure: bool,
    log: Log,
    profiled: bool = False,
) -> Candidate | None:
    """Export, evaluate and measure a trained finalist; its candidate (None if int8 failed the gate or no
    measurement of it is valid)."""
    net, meta = load_checkpoint(checkpoint)
    data = problem.splits(model_config(net)["resolution"])
    try:
        path = maker.make(net, checkpoint.parent, weights_record(checkpoint, meta), meta, data.val)
    except AccuracyGateError as exc:  # drops this candidate, not the sweep
        log(f"export {checkpoint.stem}: {exc}")
        return None
    sha = artifact_sha256(path)
    evaluation = None if remeasure else measurer.store.find_evaluation(sha)
    if evaluation is None:
        result = evaluate(path, DataCache(None))
        evaluation = {"id": measurer.store.add_evaluation(result), **result.to_dict()}
    profile = _profile(path, measurer, log) if profiled else None  # one of the measurements below
    latency = measurer.latency(path, CONFIRM_SAMPLES)  # the selection rests on it: a median, like the search's
    log(f"result {path.name}: top-1 {evaluation['top1']:.2%}, {measurer.stat} {latency:.3f} ms")
    rows = [row for row in measurer.rows(sha) if not row.invalid]
    if not rows:
        return None
    candidate = make_candidate(rows, int(evaluation["id"]), float(evaluation["top1"]), peak)
    weights_from = describe_init(meta.get("init") or {"source": "random-init"})
    return replace(candidate, weights_from=weights_from, profile=digest(profile) if profile else None)


def _profile(path: Path, measurer: Measurer, log: Log) -> dict[str, Any] | None:
    """The candidate's op profile on the target, or None (logged) where the target cannot profile it."""
    try:
        profile = measurer.profile(path)
    except EdgeconvError as exc:
        log(f"profile {path.name}: {exc}")
        return None
    kinds = ", ".join(f"{kind} {entry['share']:.0%}" for kind, entry in list(profile["by_kind"].items())[:3])
    log(f"profile {path.name}: {kinds}")
    return profile


def _curve(model: LatencyModel, problem: Problem, resolution: int) -> dict[str, Any]:
    """The fitted model's prediction over every candidate width at ``resolution`` (for the report)."""
    widths = problem.candidate_widths(resolution)
    return {
        "resolution": resolution,
        "widths": widths,
        "predicted_ms": [model.predict(problem.feature(w, resolution)) for w in widths],
    }
