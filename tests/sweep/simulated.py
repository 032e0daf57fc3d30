"""For logic tests of the sweep: a target whose latency is a known function of the artifact's MACs (and its
format and precision), and a trainer that trains for two steps. The artifacts, the database, evaluation and
selection are all real; only the board and the training budget are stand-ins."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from edgeconv.checkpoint import load_checkpoint
from edgeconv.data import DataSplits
from edgeconv.runtime.artifact_info import describe_artifact
from edgeconv.runtime.device import device_info
from edgeconv.runtime.result import BenchResult, LatencyStats
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.train import TrainConfig, fit

# precision -> latency factor per format: int8 twice as fast in ONNX, twice as slow in OpenVINO
PRECISION_FACTOR = {("onnx", "int8"): 0.5, ("openvino", "int8"): 2.0}


@dataclass
class KnownLatencyTarget:
    """p90 = ``base_ms`` + ``ms_per_mmac`` x MMACs (x the precision factor); p50 5% lower. Records every call.
    Asked to profile, it runs the artifact's real runtime profiler (the op times are real, the latency known)."""

    ms_per_mmac: float = 0.1
    base_ms: float = 0.05
    name: str = "known-latency"
    device_id: str = "known0000000000"
    measured: list[str] = field(default_factory=list)  # artifact file names, in order

    def device(self) -> dict[str, Any]:
        return {**device_info(), "device_id": self.device_id, "hostname": "known"}

    def latency_ms(self, artifact: dict[str, Any]) -> float:
        factor = PRECISION_FACTOR.get((artifact["format"], artifact["precision"]), 1.0)
        return (self.base_ms + self.ms_per_mmac * artifact["model"]["macs"] / 1e6) * factor

    def measure(self, path: Path, options: MeasureOptions) -> BenchResult:
        settings = options.settings
        artifact = describe_artifact(path)
        self.measured.append(path.name)
        p90 = self.latency_ms(artifact)
        p50 = p90 * 0.95
        profile = None
        if options.profile:
            from edgeconv.runtime.profile import profile_artifact, summarise

            profile = summarise(profile_artifact(path, options.threads, settings.runs), p50, settings.runs)
        return BenchResult(
            artifact=artifact,
            backend={"name": "known", "version": "1", "settings": {"threads": options.threads}},
            device=self.device(),
            init_ms=1.0,
            first_inference_ms=p90,
            warmup_runs=settings.warmup_runs,
            warmup_seconds=0.0,
            latency_ms=LatencyStats(p50 * 0.9, p50, 0.0, p50, p90, p90 * 1.1, p90 * 1.2),
            runs=settings.runs,
            seconds=0.0,
            cv=0.01,
            noisy=False,
            peak_rss_mb=None,
            rss_before_load_mb=None,
            timestamp=datetime.now(timezone.utc).isoformat(),
            samples_ms=[p50] * settings.runs,
            profile=profile,
        )


@dataclass
class TwoStepTrainer:
    """edgeconv's own ``fit``, one epoch (whatever ``epochs`` asks) on 128 training images (two steps); records what it
    trained."""

    trained: list[tuple[str, bool]] = field(default_factory=list)  # (run directory name, distilled?)

    def __call__(
        self, net: nn.Module, data: DataSplits, run_dir: Path, teacher: Path | None, log: Any, epochs: int | None = None
    ) -> Path:
        self.trained.append((run_dir.name, teacher is not None))
        few = replace(data, train=data.train.subset(np.arange(128)))
        teacher_net = load_checkpoint(teacher)[0] if teacher is not None else None
        return fit(net, few, TrainConfig(epochs=1), run_dir, teacher_net).checkpoint
