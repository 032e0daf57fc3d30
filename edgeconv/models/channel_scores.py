"""Channel spaces (the channel indices that several layers share) and how much each channel of a trained network
matters, for keeping the best channels at a narrower width: a BatchNorm's scale |gamma|, times the weights that
read the channel, or the spread of its output on the user's images (see ``edgeconv.models.derive``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from edgeconv.errors import UsageError


class DeriveError(UsageError):
    """The family's structure is one that channel selection does not cover (yet), or the widths do not fit."""


@dataclass
class ChannelSpaces:
    """Which channel space each layer reads and writes, and which spaces must keep every channel."""

    parent: list[int] = field(default_factory=list)
    fixed: set[int] = field(default_factory=set)  # the image's channels and the class scores
    layers: dict[str, tuple[int, int]] = field(default_factory=dict)  # module name -> (input space, output space)

    def new(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, space: int) -> int:
        while self.parent[space] != space:
            self.parent[space] = self.parent[self.parent[space]]
            space = self.parent[space]
        return space

    def join(self, a: int, b: int) -> int:
        a, b = self.find(a), self.find(b)
        self.parent[max(a, b)] = min(a, b)
        return min(a, b)

    def of(self, name: str) -> tuple[int, int]:
        """A layer's (input, output) spaces, resolved."""
        first, second = self.layers[name]
        return self.find(first), self.find(second)


def input_variances(model: nn.Module, batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per BatchNorm (by name), the per-channel variance of its input over ``batches``, the network in eval mode:
    how much each channel varies on these images under the weights as they are."""
    norms = {name: m for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    sums: dict[str, list[torch.Tensor]] = {}

    def hook(name: str) -> Any:
        def record(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
            x = inputs[0].detach().transpose(0, 1).flatten(1).double()
            moments = [x.sum(1), (x * x).sum(1), torch.tensor(float(x.shape[1]), dtype=torch.double)]
            sums[name] = [a + b for a, b in zip(sums[name], moments, strict=True)] if name in sums else moments

        return record

    handles = [norm.register_forward_hook(hook(name)) for name, norm in norms.items()]
    try:
        with torch.no_grad():
            for batch in batches:
                model.eval()(batch)
    finally:
        for handle in handles:
            handle.remove()
    return {name: (sq / n - (total / n) ** 2).clamp_min(0).float() for name, (total, sq, n) in sums.items()}


def batchnorm_score(name: str, norm: nn.BatchNorm2d, variances: dict[str, torch.Tensor] | None) -> torch.Tensor:
    """|gamma|, or with ``variances`` (criterion ``activation``) the standard deviation of the BatchNorm's output
    on the user's images, |gamma| * sqrt(var / (running_var + eps)): how much the channel says about them."""
    scale = norm.weight.detach().abs()
    if variances is None or norm.running_var is None:
        return scale
    return scale * (variances[name] / (norm.running_var.detach() + norm.eps)).sqrt()


def _readers(modules: dict[str, nn.Module], spaces: ChannelSpaces) -> dict[int, torch.Tensor]:
    """Per free space, the L1 norm of the weights that read each channel (every full convolution and linear
    layer taking the space as input), each layer's divided by its mean: how much the next layers use it."""
    found: dict[int, torch.Tensor] = {}
    for name in spaces.layers:
        module, space = modules[name], spaces.of(name)[0]
        full = isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d) and module.groups == 1)
        if space in spaces.fixed or not full:
            continue
        weight: torch.Tensor = module.weight  # type: ignore[assignment]
        score = weight.detach().abs().transpose(0, 1).flatten(1).sum(1)
        score = score / score.mean().clamp_min(1e-12)
        found[space] = found[space] + score if space in found else score
    return found


def importance(
    model: nn.Module,
    spaces: ChannelSpaces,
    variances: dict[str, torch.Tensor] | None = None,
    readers: bool = False,
) -> dict[int, torch.Tensor]:
    """Each free space's channel importance in ``model`` (the module docstring says how)."""
    modules = dict(model.named_modules())
    by_scale: dict[int, torch.Tensor] = {}
    by_filters: dict[int, torch.Tensor] = {}
    for name in spaces.layers:
        module, space = modules[name], spaces.of(name)[1]
        if space in spaces.fixed:
            continue
        if isinstance(module, nn.BatchNorm2d):
            found, score = by_scale, batchnorm_score(name, module, variances)
        elif isinstance(module, nn.Conv2d):
            found, score = by_filters, module.weight.detach().abs().flatten(1).sum(1)
        else:
            continue
        score = score / score.mean().clamp_min(1e-12)
        found[space] = found[space] + score if space in found else score
    scores = {**by_filters, **by_scale}
    if readers:
        use = _readers(modules, spaces)
        scores = {space: score * use[space] if space in use else score for space, score in scores.items()}
    return scores
