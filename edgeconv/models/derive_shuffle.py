"""Channel selection for ShuffleNetV2, whose units split, concatenate and shuffle channels.

A stride-1 unit passes the first half of its input through and feeds the second half to its branch; the shuffle
after the concatenation sends the passed channel at position ``p`` to position ``2p`` of the next unit's input
and the branch's output ``j`` to ``2j + 1``. A channel therefore keeps moving (p, 2p, 4p, ...) until it reaches
the second half, where the branch of that unit reads it, or until the stage ends, where the next stage (or the
last 1x1 conv) reads every channel. Which unit consumes a channel depends only on its position and the stage's
width, so a narrow network can reuse a wide one's channel only if both send it to the same unit: every channel
born in a unit (the stride-2 unit's two branches, each later unit's branch) is matched, among the wide
network's channels born in the same place and consumed by the same unit, to the most important of them. The
channels inside a branch and the last features are free, as in any other family.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from edgeconv.models.channel_scores import DeriveError, batchnorm_score
from edgeconv.models.shufflenetv2 import ShuffleNetV2

Selection = dict[str, tuple[torch.Tensor, torch.Tensor]]  # layer name -> (kept inputs, kept outputs)


class ShuffleSelection:
    """The kept channels of every layer of a narrower ShuffleNetV2 (``target``) in a wider one (``source``)."""

    def __init__(self, source: ShuffleNetV2, target: ShuffleNetV2, importance: Importance) -> None:
        self.source = dict(source.named_modules())
        self.target = dict(target.named_modules())
        self.importance = importance
        self.layers: Selection = {}
        self.spaces = self.narrowed = 0

    def run(self) -> Selection:
        """Select every layer's channels, from the image's three to the class scores."""
        classes = int(self.target["fc"].out_features)
        if classes != self.source["fc"].out_features:
            raise DeriveError(
                f"shufflenetv2: the networks differ in their classes ({classes} vs {self.source['fc'].out_features})"
            )
        for name, module in self.target.items():
            if isinstance(module, nn.BatchNorm2d) and module.num_features > self._width(self.source[name]):
                have, want = self._width(self.source[name]), module.num_features
                raise DeriveError(f"shufflenetv2: the target is wider than the weights ({want} > {have} channels)")
        stem = self._free(["conv1.1"], ["stage2.0.branch2.0", "stage2.0.branch1.2"])
        self._keep(["conv1.0"], torch.arange(3), stem)
        self._keep(["conv1.1"], stem, stem)
        features = stem
        for stage in (2, 3, 4):
            features = self._stage(stage, features)
        last = self._free(["conv5.1"], ["fc"])
        self._keep(["conv5.0"], features, last)
        self._keep(["conv5.1"], last, last)
        self._keep(["fc"], last, torch.arange(classes))
        return self.layers

    def _stage(self, stage: int, inputs: torch.Tensor) -> torch.Tensor:
        """Select one stage's layers given its kept input channels; returns, for each narrow output position,
        the wide network's channel there."""
        last = len(self.source[f"stage{stage}"]) - 1  # stride-1 units: 1..last
        fit = _Fit(stage, last, self._half(stage, self.source), self._half(stage, self.target))
        unit = f"stage{stage}.0"
        self._keep([f"{unit}.branch1.0", f"{unit}.branch1.1"], inputs, inputs)
        first = self._born(f"{unit}.branch1.3", fit, 1, lambda i: 2 * i)
        self._keep([f"{unit}.branch1.2"], inputs, first)
        self._keep([f"{unit}.branch1.3"], first, first)
        second = self._branch(unit, inputs, fit, 1, lambda i: 2 * i + 1)
        positions = _interleave(2 * first, 2 * second + 1)
        for index in range(1, last + 1):
            passed, read = positions[: fit.narrow], positions[fit.narrow :]
            unit = f"stage{stage}.{index}"
            born = self._branch(unit, read - fit.wide, fit, index + 1, lambda j: 2 * j + 1)
            positions = _interleave(2 * passed, 2 * born + 1)
        return positions

    def _branch(
        self, unit: str, inputs: torch.Tensor, fit: _Fit, next_unit: int, position: Callable[[int], int]
    ) -> torch.Tensor:
        """Select a unit's branch2 (1x1, depthwise 3x3, 1x1) reading ``inputs``; returns its kept outputs."""
        mid = self._free([f"{unit}.branch2.1", f"{unit}.branch2.4"], [f"{unit}.branch2.5"])
        self._keep([f"{unit}.branch2.0"], inputs, mid)
        self._keep([f"{unit}.branch2.1", f"{unit}.branch2.3", f"{unit}.branch2.4"], mid, mid)
        born = self._born(f"{unit}.branch2.6", fit, next_unit, position)
        self._keep([f"{unit}.branch2.5"], mid, born)
        self._keep([f"{unit}.branch2.6"], born, born)
        return born

    def _born(self, norm: str, fit: _Fit, unit: int, position: Callable[[int], int]) -> torch.Tensor:
        """The wide channel kept for each narrow channel that BatchNorm ``norm`` outputs; output ``i`` lands at
        ``position(i)`` of the input of ``unit`` (or of the stage's end)."""
        have, want = self._width(self.source[norm]), self._width(self.target[norm])
        fates = [fit.fate(position(i), fit.wide, unit) for i in range(have)]
        use = torch.stack([self.importance.columns(fit.reader(fate))[fit.column(fate)] for fate in fates])
        scores = self.importance.of([norm], use)
        narrow_fates = [fit.fate(position(i), fit.narrow, unit)[0] for i in range(want)]
        kept = torch.empty(want, dtype=torch.long)
        for consumer in sorted(set(narrow_fates)):
            mine = [i for i, fate in enumerate(narrow_fates) if fate == consumer]
            theirs = torch.tensor([i for i, fate in enumerate(fates) if fate[0] == consumer], dtype=torch.long)
            if len(theirs) < len(mine):
                raise DeriveError(f"shufflenetv2: too few channels of {norm} reach unit {consumer} to derive from")
            kept[mine] = theirs[torch.argsort(-scores[theirs], stable=True)[: len(mine)]].sort().values
        self._count(have, want)
        return kept

    def _free(self, norms: list[str], readers: list[str]) -> torch.Tensor:
        """The most important channels of a space no other layer constrains, in their original order."""
        have, want = self._width(self.source[norms[0]]), self._width(self.target[norms[0]])
        use = torch.stack([self.importance.columns(name) for name in readers]).sum(0)
        self._count(have, want)
        return torch.argsort(-self.importance.of(norms, use), stable=True)[:want].sort().values

    def _keep(self, names: list[str], inputs: torch.Tensor, outputs: torch.Tensor) -> None:
        for name in names:
            self.layers[name] = (inputs, outputs)

    def _count(self, have: int, want: int) -> None:
        self.spaces += 1
        self.narrowed += int(want < have)

    def _half(self, stage: int, modules: dict[str, nn.Module]) -> int:
        return self._width(modules[f"stage{stage}.0.branch2.6"])

    @staticmethod
    def _width(module: nn.Module) -> int:
        return int(module.num_features)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Fit:
    """One stage's shape: its number, its last stride-1 unit, and half its channels in each network."""

    stage: int
    last: int
    wide: int
    narrow: int

    def fate(self, position: int, half: int, unit: int) -> tuple[int, int]:
        """The stride-1 unit (1..last, or last + 1: the stage's end) whose branch reads the channel at
        ``position`` of ``unit``'s input in a stage of ``half``, and its position there: a passed channel moves
        from p to 2p at every unit."""
        while unit <= self.last and position < half:
            position, unit = 2 * position, unit + 1
        return unit, position

    def reader(self, fate: tuple[int, int]) -> str:
        """The 1x1 convolution that reads a channel of the wide network with this fate."""
        if fate[0] <= self.last:
            return f"stage{self.stage}.{fate[0]}.branch2.0"
        return f"stage{self.stage + 1}.0.branch2.0" if self.stage < 4 else "conv5.0"

    def column(self, fate: tuple[int, int]) -> int:
        """The reader's input column of that channel."""
        return fate[1] - self.wide if fate[0] <= self.last else fate[1]


def _interleave(even: torch.Tensor, odd: torch.Tensor) -> torch.Tensor:
    """[even[0], odd[0], even[1], odd[1], ...]: channel_shuffle of two groups."""
    return torch.stack((even, odd), 1).flatten()


class Importance:
    """How much each channel of a space matters in ``source`` by ``criterion`` (see ``edgeconv.models.derive``):
    the space's BatchNorms and, for ``scale-and-use``, the weights that read each channel."""

    def __init__(self, source: nn.Module, criterion: str, variances: dict[str, torch.Tensor] | None) -> None:
        self.modules = dict(source.named_modules())
        self.criterion, self.variances = criterion, variances if criterion == "activation" else None
        self._columns: dict[str, torch.Tensor] = {}

    def of(self, norms: Sequence[str], use: torch.Tensor) -> torch.Tensor:
        """Per channel of the space that BatchNorms ``norms`` normalise; ``use``: its readers' weights."""
        width = self.modules[norms[0]].num_features
        if self.criterion == "first-k":
            return -torch.arange(width, dtype=torch.float)
        total = torch.zeros(width)
        for name in norms:
            value = batchnorm_score(name, self.modules[name], self.variances)
            total += value / value.mean().clamp_min(1e-12)
        return total * use if self.criterion == "scale-and-use" else total

    def columns(self, name: str) -> torch.Tensor:
        """The L1 norm of layer ``name``'s weights per input channel, divided by their mean."""
        if name not in self._columns:
            weight = self.modules[name].weight.detach().abs()
            per_column = weight.transpose(0, 1).flatten(1).sum(1)
            self._columns[name] = per_column / per_column.mean().clamp_min(1e-12)
        return self._columns[name]
