"""How much each channel of a trained network matters, for keeping the best channels at a narrower width:
a BatchNorm's scale |gamma| (what the weights say), or the spread of its output on the user's images (what the
weights do with those images: a pretrained network's most-used channels on ImageNet need not be the ones a new
task's images drive)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


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
