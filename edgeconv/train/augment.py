"""Light, batched augmentation on uint8 NHWC tensors: random scale/translation (and optional flip)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_affine(
    x: torch.Tensor,
    generator: torch.Generator,
    max_shift: float = 0.1,
    scale: tuple[float, float] = (0.9, 1.1),
    hflip: bool = False,
) -> torch.Tensor:
    """Per-image random zoom in ``scale`` and shift up to ``max_shift`` of the size (NCHW float input)."""
    n = x.shape[0]
    zoom = torch.empty(n).uniform_(*scale, generator=generator)
    shift = torch.empty(n, 2).uniform_(-max_shift * 2, max_shift * 2, generator=generator)  # grid spans [-1, 1]
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if hflip else torch.ones(n)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = flip / zoom
    theta[:, 1, 1] = 1 / zoom
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
