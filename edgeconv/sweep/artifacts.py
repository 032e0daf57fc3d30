"""``ArtifactMaker``: a lane's files: random-weight probes for the latency search and the trained finalists,
each exported once (a complete artifact of this schema and int8 scheme is reused), int8 in the scheme that
is fast on the target's CPU and, for trained weights, through the accuracy gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgeconv.data import ImageSet
from edgeconv.errors import ArtifactError
from edgeconv.exporters import Artifact, export, get_format
from edgeconv.exporters.artifact import SCHEMA_VERSION as ARTIFACT_SCHEMA
from edgeconv.exporters.export import artifact_name
from edgeconv.models import create_model
from edgeconv.models.factory import estimate_batchnorm_statistics, model_config
from edgeconv.runtime.artifact_info import artifact_files, sidecar_path
from edgeconv.runtime.device import int8_path
from edgeconv.sweep.config import SweepConfig
from edgeconv.sweep.problem import Problem

PROBE_WEIGHTS = {"source": "random-init", "note": "latency probe of a sweep"}


class ArtifactMaker:
    """Exports one lane's networks for one target device (its fingerprint decides the auto int8 scheme)."""

    def __init__(self, config: SweepConfig, problem: Problem, device: dict[str, Any]) -> None:
        self.config, self.problem, self.device = config, problem, device
        self.spec = get_format(config.format)
        self.int8_scheme = (
            self.spec.int8_scheme(config.int8_scheme, int8_path(device)) if config.precision == "int8" else None
        )

    def probe(self, width: float, resolution: int, out_dir: Path) -> Path:
        """The random-weight artifact that stands for this width and resolution in the search (latency does
        not depend on the weights), exported unless it exists."""
        torch.manual_seed(0)
        net = create_model(self.config.model, width, self.problem.classes(resolution), resolution)
        return self.make(estimate_batchnorm_statistics(net, resolution), out_dir, PROBE_WEIGHTS)

    def make(
        self,
        net: nn.Module,
        out_dir: Path,
        weights: dict[str, Any],
        meta: dict[str, Any] | None = None,
        val: ImageSet | None = None,
    ) -> Path:
        """``net`` exported into ``out_dir`` unless a complete artifact (file, companions, sidecar) of this
        schema and scheme is there. int8 goes through the accuracy gate when held-out images ``val`` are given."""
        path = out_dir / artifact_name(model_config(net), self.config.precision, self.spec.suffix)
        complete = all(f.is_file() for f in artifact_files(path)) and sidecar_path(path).is_file()
        try:
            if complete and self._reusable(Artifact.load(path)):
                return path
        except ArtifactError:  # a sidecar that does not describe the file: made again
            pass
        resolution = model_config(net)["resolution"]
        calibration = (
            self.problem.calibration(resolution, self.config.calib_size) if self.config.precision == "int8" else None
        )
        artifact = export(
            net,
            self.config.format,
            self.config.precision,
            calibration,
            out_dir,
            val=val,
            max_drop=self.config.max_drop,
            weights=weights,
            meta=meta,
            int8_scheme=self.config.int8_scheme,
            device=self.device,
        )
        return Path(artifact.path)

    def _reusable(self, artifact: Artifact) -> bool:
        """An artifact from an earlier run is reused when its schema and its int8 scheme are this lane's."""
        scheme = (artifact.quantization or {}).get("int8_scheme")
        same_scheme = self.config.precision != "int8" or scheme == self.int8_scheme
        return artifact.schema_version == ARTIFACT_SCHEMA and same_scheme
