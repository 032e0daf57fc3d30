"""``Problem``: what a family's lanes share: the data splits per resolution, each candidate's latency features
(MACs, parameters, activations, counted once on shape-only networks), and the widths that build distinct
networks."""

from __future__ import annotations

from torch import nn

from edgeconv.data import DataSplits, load_data
from edgeconv.exporters.calibration import CalibrationSet
from edgeconv.models.factory import Features, latency_features, shape_only_model
from edgeconv.sweep.space import distinct_architectures


class Problem:
    """One family's candidates on one dataset."""

    def __init__(self, family: str, data: str, widths: list[float], seed: int = 0, load: str = "auto") -> None:
        """``seed`` splits data that has no val/ split, as ``edgeconv train --seed`` does; ``load`` holds an
        image folder in memory or streams it."""
        self.family, self.data_spec, self.widths, self.seed, self.load = family, data, widths, seed, load
        self._data: dict[int, DataSplits] = {}
        self._features: dict[tuple[float, int], Features] = {}
        self._distinct: dict[int, list[float]] = {}

    def splits(self, resolution: int) -> DataSplits:
        """The train/val splits at ``resolution`` (loaded once)."""
        if resolution not in self._data:
            self._data[resolution] = load_data(self.data_spec, resolution, seed=self.seed, load=self.load)
        return self._data[resolution]

    def classes(self, resolution: int) -> int:
        return len(self.splits(resolution).class_names)

    def feature(self, width: float, resolution: int) -> Features:
        """The latency features of a candidate (whole-model and per op kind), counted once."""
        if (width, resolution) not in self._features:
            net = shape_only_model(self.family, width, self.classes(resolution), resolution)
            self._features[(width, resolution)] = latency_features(net, resolution)
        return self._features[(width, resolution)]

    def candidate_widths(self, resolution: int) -> list[float]:
        """The configured widths that build distinct networks (computed once per resolution)."""
        if resolution not in self._distinct:
            signatures = {}
            for width in self.widths:
                net = shape_only_model(self.family, width, self.classes(resolution), resolution)
                signatures[width] = tuple(m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d))
            self._distinct[resolution] = distinct_architectures(self.widths, signatures)
        return self._distinct[resolution]

    def calibration(self, resolution: int, size: int) -> CalibrationSet:
        """int8 calibration images drawn from the training split."""
        return CalibrationSet.from_splits(self.splits(resolution), size)
