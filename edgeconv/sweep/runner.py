"""``run_sweep``: search widths by measured latency, train the finalists, export, evaluate, measure, select.

Latency does not depend on the weights, so the search measures random-weight probe artifacts (cheap to
make) and only the finalists — per resolution, the widest width under budget and the next narrower one
measured — are trained. Every result is stored as soon as it exists, and every step first looks for its
result (files in ``out_dir``, rows in the results database), so an interrupted sweep resumes where it stopped
and a repeated one measures nothing again unless ``remeasure``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgeconv.atomic import write_json
from edgeconv.checkpoint import load_checkpoint, weights_record
from edgeconv.data import DataSplits, ImageSet, load_data
from edgeconv.errors import ArtifactError
from edgeconv.evaluate import DataCache, evaluate
from edgeconv.exporters import Artifact, export, get_format
from edgeconv.exporters.artifact import SCHEMA_VERSION as ARTIFACT_SCHEMA
from edgeconv.exporters.calibration import CalibrationSet
from edgeconv.exporters.export import artifact_name
from edgeconv.exporters.gate import AccuracyGateError
from edgeconv.models import create_model
from edgeconv.models.factory import (
    estimate_batchnorm_statistics,
    latency_features,
    model_config,
    model_stem,
    shape_only_model,
)
from edgeconv.results import ResultsStore
from edgeconv.runtime.artifact_info import artifact_files, artifact_sha256, sidecar_path
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.device import int8_path
from edgeconv.runtime.result import BenchResult, median_latency
from edgeconv.select import Selection, candidates, pareto_front, select
from edgeconv.staging import make_staging
from edgeconv.sweep.latency_model import Features, LatencyModel
from edgeconv.sweep.search import CONFIRM_SAMPLES, SearchResult, search_width
from edgeconv.sweep.space import distinct_architectures
from edgeconv.targets import ConnectionLost, Target
from edgeconv.train import TrainConfig, fit, load_pretrained

Log = Callable[[str], None]
RETRY_AFTER_S = 5.0


@dataclass(frozen=True)
class SweepConfig:
    """What to search and how to build, train, export and measure each candidate."""

    model: str
    budget_ms: float
    widths: list[float]
    resolutions: list[int]
    stat: str = "p90"
    format: str = "tflite"
    precision: str = "int8"
    int8_scheme: str = "auto"  # one of the format's int8 schemes, or auto: the fast one for the target's CPU
    threads: int = 1
    data: str = "digits"
    epochs: int = 10
    weights: str | None = None
    distil: bool = False
    remeasure: bool = False
    max_drop: float = 1.0
    calib_size: int = 300
    bench: BenchSettings = field(default_factory=BenchSettings)
    cooldown_s: float = 0.0  # idle before each measurement
    max_temp_c: float | None = None  # wait until the device is this cool; flag results that end hotter

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Sweep:
    """One sweep in ``out_dir`` against ``target``, recording into ``store``."""

    def __init__(
        self,
        config: SweepConfig,
        out_dir: Path,
        store: ResultsStore,
        target: Target,
        log: Log,
        train_dir: Path | None = None,
    ) -> None:
        """``train_dir`` (default ``out_dir/candidates``) holds the trained finalists; sweeps of one family in
        other formats or precisions share it, so that each width is trained once."""
        self.config, self.out, self.store, self.target, self.log = config, Path(out_dir), store, target, log
        self.train_dir = Path(train_dir) if train_dir is not None else self.out / "candidates"
        self.device_id = target.device_id
        self.spec = get_format(config.format)
        self.features: dict[tuple[float, int], Features] = {}
        self.widths: dict[int, list[float]] = {}
        self.data: dict[int, DataSplits] = {}
        self.probe_log: list[dict[str, Any]] = []
        self.fresh: dict[str, list[BenchResult]] = {}  # measured in this run, by artifact hash (--remeasure)
        self.reused = 0
        self.requested: set[str] = set()
        self.device: dict[str, Any] | None = None  # the target's fingerprint, from its measurements
        self._scheme: str | None = None

    # -- data and features -------------------------------------------------------------------------------------
    def splits(self, resolution: int) -> DataSplits:
        if resolution not in self.data:
            self.data[resolution] = load_data(self.config.data, resolution)
        return self.data[resolution]

    def feature(self, width: float, resolution: int) -> Features:
        """(MMACs, M params, M activations) of a candidate, counted once."""
        if (width, resolution) not in self.features:
            classes = len(self.splits(resolution).class_names)
            net = shape_only_model(self.config.model, width, classes, resolution)
            self.features[(width, resolution)] = latency_features(net, resolution)
        return self.features[(width, resolution)]

    def candidate_widths(self, resolution: int) -> list[float]:
        """The configured widths that build distinct networks (computed once per resolution)."""
        if resolution not in self.widths:
            classes = len(self.splits(resolution).class_names)
            signatures = {}
            for width in self.config.widths:
                net = shape_only_model(self.config.model, width, classes, resolution)
                signatures[width] = tuple(m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d))
            self.widths[resolution] = distinct_architectures(self.config.widths, signatures)
        return self.widths[resolution]

    # -- measuring -----------------------------------------------------------------------------------------------
    def latency(self, path: Path, samples: int = 1) -> float:
        """The median latency statistic of at least ``samples`` measurements of ``path`` on the target: stored
        measurements are reused (with ``remeasure``, only those of this run), the missing ones measured and
        stored."""
        sha = artifact_sha256(path)
        if self.config.remeasure:
            results = self.fresh.setdefault(sha, [])
        else:
            results = self.store.find_benches(sha, self.device_id, self.config.threads)
        if results and sha not in self.requested:
            self.reused += 1  # artifacts whose measurements an earlier run stored
        self.requested.add(sha)
        while len(results) < samples:
            result = self.measure(path)
            self.store.add_bench(result)
            results.append(result)
        self.device = results[-1].device
        return median_latency(results, self.config.stat)

    def measure(self, path: Path) -> BenchResult:
        """One measurement on the target; a lost connection is retried once, after a pause for the link or the
        board to come back (nothing of the lost one was stored)."""
        conditions = {"cooldown": self.config.cooldown_s, "max_temp": self.config.max_temp_c}
        try:
            return self.target.measure(path, self.config.threads, self.config.bench, **conditions)
        except ConnectionLost as exc:
            self.log(f"retry  {path.name} in {RETRY_AFTER_S:g} s: {exc}")
            time.sleep(RETRY_AFTER_S)
            return self.target.measure(path, self.config.threads, self.config.bench, **conditions)

    def _export(
        self,
        net: nn.Module,
        out: Path,
        calib: CalibrationSet | None,
        weights: dict[str, Any],
        meta: dict[str, Any] | None = None,
        val: ImageSet | None = None,
    ) -> Path:
        """Export unless a complete artifact (file, companions, sidecar) of this schema is already there.
        int8 goes through the accuracy gate when held-out images ``val`` are given (trained weights)."""
        path = out / artifact_name(model_config(net), self.config.precision, self.spec.suffix)
        complete = all(f.is_file() for f in artifact_files(path)) and sidecar_path(path).is_file()
        try:
            if complete and self._reusable(Artifact.load(path)):
                return path
        except ArtifactError:  # a sidecar that does not describe the file: made again
            pass
        artifact = export(
            net,
            self.config.format,
            self.config.precision,
            calib,
            out,
            val=val,
            max_drop=self.config.max_drop,
            weights=weights,
            meta=meta,
            int8_scheme=self.config.int8_scheme,
            device=self.target.device(),
        )
        return Path(artifact.path)

    @property
    def int8_scheme(self) -> str:
        """The int8 scheme exported for this target (``auto`` resolved for its CPU once)."""
        if self._scheme is None:
            self._scheme = self.spec.int8_scheme(self.config.int8_scheme, int8_path(self.target.device()))
        return self._scheme

    def _reusable(self, artifact: Artifact) -> bool:
        """An artifact from an earlier run is reused when its schema and its int8 scheme are this sweep's."""
        scheme = (artifact.quantization or {}).get("int8_scheme")
        same_scheme = self.config.precision != "int8" or scheme == self.int8_scheme
        return artifact.schema_version == ARTIFACT_SCHEMA and same_scheme

    def calibration(self, resolution: int) -> CalibrationSet | None:
        if self.config.precision != "int8":
            return None
        return CalibrationSet.from_splits(self.splits(resolution), self.config.calib_size)

    def probe_artifact(self, width: float, resolution: int) -> Path:
        """The random-weight artifact that stands for this width and resolution in the search (latency does
        not depend on the weights), exported unless it exists."""
        classes = len(self.splits(resolution).class_names)
        torch.manual_seed(0)
        net = estimate_batchnorm_statistics(create_model(self.config.model, width, classes, resolution), resolution)
        weights = {"source": "random-init", "note": "latency probe of a sweep"}
        return self._export(net, self.out / "probes", self.calibration(resolution), weights)

    def probe(self, width: float, resolution: int, samples: int = 1) -> float:
        """Latency statistic of the probe artifact of this width and resolution (the median of at least
        ``samples`` measurements)."""
        path = self.probe_artifact(width, resolution)
        value = self.latency(path, samples)
        entry: dict[str, Any] = {"width": width, "resolution": resolution, "latency_ms": value, "samples": samples}
        entry["mmacs"], entry["mparams"], _ = self.feature(width, resolution)
        entry["artifact"] = str(path)
        self.probe_log = [p for p in self.probe_log if (p["width"], p["resolution"]) != (width, resolution)] + [entry]
        note = f" (median of {samples})" if samples > 1 else ""
        self.log(f"probe  w{width:g} r{resolution}: {self.config.stat} {value:.3f} ms{note}")
        return value

    # -- candidates ----------------------------------------------------------------------------------------------
    def train(self, width: float, resolution: int, teacher: nn.Module | None) -> Path:
        """The finalist's checkpoint, trained now unless a previous run finished it."""
        stem = model_stem({"model": self.config.model, "width": width, "resolution": resolution})
        run_dir = self.train_dir / stem
        checkpoint = run_dir / f"{stem}.pt"
        if checkpoint.is_file() and checkpoint.with_suffix(".train.json").is_file():
            self.log(f"train  w{width:g} r{resolution}: done in an earlier run")
            return checkpoint
        data = self.splits(resolution)
        net = create_model(self.config.model, width, len(data.class_names), resolution)
        init = load_pretrained(net, self.config.weights).to_dict() if self.config.weights else {"source": "random-init"}
        self.log(f"train  w{width:g} r{resolution}: {self.config.epochs} epochs" + (" (distilled)" if teacher else ""))
        result = fit(net, data, TrainConfig(epochs=self.config.epochs), run_dir, teacher, {"init": init})
        self.log(f"train  w{width:g} r{resolution}: val top-1 {result.best['val_top1']:.2%} in {result.seconds:.0f} s")
        return checkpoint

    def finish_candidate(self, checkpoint: Path) -> str | None:
        """Export, evaluate and measure a trained finalist; returns its artifact hash (None if int8 failed)."""
        net, meta = load_checkpoint(checkpoint)
        resolution = model_config(net)["resolution"]
        data = self.splits(resolution)
        try:
            path = self._export(
                net, checkpoint.parent, self.calibration(resolution), weights_record(checkpoint), meta, data.val
            )
        except AccuracyGateError as exc:  # drops this candidate, not the sweep
            self.log(f"export {checkpoint.stem}: {exc}")
            return None
        sha = artifact_sha256(path)
        evaluation = None if self.config.remeasure else self.store.find_evaluation(sha)
        if evaluation is None:
            result = evaluate(path, DataCache(None))
            self.store.add_evaluation(result)
            evaluation = result.to_dict()
        latency = self.latency(path, CONFIRM_SAMPLES)  # the selection rests on it: a median, like the search's
        self.log(f"result {path.name}: top-1 {evaluation['top1']:.2%}, {self.config.stat} {latency:.3f} ms")
        return sha

    # -- the whole sweep -----------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        model = LatencyModel()
        searches: list[SearchResult] = []
        for resolution in self.config.resolutions:
            widths = self.candidate_widths(resolution)
            self.log(f"search r{resolution}: {len(widths)} distinct widths {widths[0]:g}..{widths[-1]:g}")
            search = search_width(widths, resolution, self.config.budget_ms, self.probe, self.feature, model)
            searches.append(search)
            found = f"w{search.best_width:g}" if search.best_width is not None else "no width fits"
            self.log(f"search r{resolution}: {found} after {search.measurements} of {len(widths)} measurements")
        finalists = self.finalists(searches)
        teacher = None
        shas = set()
        for index, (width, resolution) in enumerate(finalists):  # widest first: the teacher when distilling
            checkpoint = self.train(width, resolution, teacher if index else None)
            if self.config.distil and index == 0:
                teacher = load_checkpoint(checkpoint)[0]
            sha = self.finish_candidate(checkpoint)
            if sha:
                shas.add(sha)
        selection = select(
            candidates(
                self.store,
                self.device_id,
                self.config.model,
                self.config.format,
                self.config.precision,
                self.config.threads,
                shas,
            ),
            self.config.budget_ms,
            self.config.stat,
        )
        self.copy_selected(selection)
        return self.summary(searches, model, finalists, selection)

    def finalists(self, searches: list[SearchResult]) -> list[tuple[float, int]]:
        """Per resolution: the widest width under budget and the next narrower measured width; widest first."""
        chosen = []
        for search in searches:
            if search.best_width is None:
                continue
            chosen.append((search.best_width, search.resolution))
            narrower = [w for w in search.measured if w < search.best_width]
            if narrower:
                chosen.append((max(narrower), search.resolution))
        return sorted(chosen, key=lambda wr: self.feature(*wr)[0], reverse=True)

    def model_curve(self, model: LatencyModel, resolution: int) -> dict[str, Any]:
        """The fitted model's prediction over every candidate width at ``resolution`` (for the report)."""
        widths = self.candidate_widths(resolution)
        return {
            "resolution": resolution,
            "widths": widths,
            "predicted_ms": [model.predict(*self.feature(w, resolution)) for w in widths],
        }

    def copy_selected(self, selection: Selection) -> None:
        copy_selected(selection, self.out)

    def efficiency(self) -> dict[str, Any]:
        """What this family's probes cost on the target per unit of work and of size: the median over the
        probes of milliseconds per GMAC and per million parameters, and the fastest probe."""
        if not self.probe_log:
            return {}
        fastest = min(self.probe_log, key=lambda p: p["latency_ms"])
        return {
            "ms_per_gmac": float(np.median([p["latency_ms"] / (p["mmacs"] / 1e3) for p in self.probe_log])),
            "ms_per_mparam": float(np.median([p["latency_ms"] / p["mparams"] for p in self.probe_log])),
            "fastest": {k: fastest[k] for k in ("width", "resolution", "latency_ms", "mmacs", "mparams")},
            "probes": len(self.probe_log),
        }

    def summary(
        self,
        searches: list[SearchResult],
        model: LatencyModel,
        finalists: list[tuple[float, int]],
        selection: Selection,
    ) -> dict[str, Any]:
        exhaustive = sum(len(self.candidate_widths(r)) for r in self.config.resolutions)
        summary = {
            "out_dir": str(self.out.resolve()),
            "device_id": self.device_id,
            "config": self.config.to_dict(),
            "probes": self.probe_log,
            "searches": [
                {"resolution": s.resolution, "best_width": s.best_width, "measurements": s.measurements}
                for s in searches
            ],
            "measurements": sum(s.measurements for s in searches),
            "exhaustive_measurements": exhaustive,
            "reused_measurements": self.reused,
            "latency_model": model.summary(),
            "model_curve": [self.model_curve(model, r) for r in self.config.resolutions],
            "pareto": [c.to_dict() for c in pareto_front(selection.candidates, self.config.stat)],
            "device": self.device or {"device_id": self.device_id},
            "target": self.target.name,
            "finalists": [{"width": w, "resolution": r} for w, r in finalists],
            "efficiency": self.efficiency(),
            "selection": selection.to_dict(),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json(self.out / "sweep.json", summary)
        self.store.add_sweep(summary)
        return summary


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
