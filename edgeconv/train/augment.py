"""Augmentation policies on batches of prepared images (N x 3 x R x R floats in [0, 1]), as named in checkpoints.

- ``light``: a random zoom of 0.9-1.1x and a shift of up to a tenth of the side (digits, text, icons).
- ``standard``: the ImageNet recipe of the reference libraries (torchvision's ``RandomResizedCrop`` with area
  0.08-1 and aspect 3/4-4/3, ``RandomHorizontalFlip``, ``ColorJitter`` of brightness, contrast and saturation
  0.4), written here on tensors because torchvision does not import beside the CPU torch (FINDINGS). The crop
  is taken from the prepared (rescaled, centre-cropped) image, the one evaluation sees.
- ``none``.

Each image's parameters come from its own generator, seeded by (seed, epoch, image index): an image is
augmented the same way whichever worker, process or batch it lands in.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

POLICIES = ("light", "standard", "none")
CROP_AREA = (0.08, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
JITTER = 0.4
GREY = (0.299, 0.587, 0.114)  # ITU-R 601 luma, torchvision's rgb_to_grayscale


def default_policy(data_kind: str | None) -> str:
    """``light`` for the built-in digits, ``standard`` for a folder of (natural) images."""
    return "light" if data_kind == "digits" else "standard"


def _crop(rng: np.random.Generator) -> tuple[float, float]:
    """Half-width and half-height of a random-resized crop, as fractions of the side (torchvision's 10 tries,
    then the whole image)."""
    for _ in range(10):
        area = rng.uniform(*CROP_AREA)
        ratio = math.exp(rng.uniform(math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])))
        w, h = math.sqrt(area * ratio), math.sqrt(area / ratio)
        if w <= 1 and h <= 1:
            return w, h
    return 1.0, 1.0


def _parameters(policy: str, rngs: list[np.random.Generator]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per image: the 2x3 affine matrix of the sampling grid, and (standard) brightness, contrast, saturation."""
    theta = torch.zeros(len(rngs), 2, 3)
    jitter = torch.ones(len(rngs), 3) if policy == "standard" else None
    for i, rng in enumerate(rngs):
        if policy == "light":
            zoom = rng.uniform(0.9, 1.1)
            sx = sy = 1 / zoom
            tx, ty = rng.uniform(-0.2, 0.2, 2)  # the grid spans [-1, 1]: 0.2 is a tenth of the side
        else:
            sx, sy = _crop(rng)
            tx, ty = rng.uniform(-(1 - sx), 1 - sx), rng.uniform(-(1 - sy), 1 - sy)
            sx *= -1.0 if rng.uniform() < 0.5 else 1.0
            assert jitter is not None
            jitter[i] = torch.from_numpy(rng.uniform(1 - JITTER, 1 + JITTER, 3))
        theta[i, 0, 0], theta[i, 1, 1], theta[i, 0, 2], theta[i, 1, 2] = sx, sy, tx, ty
    return theta, jitter


def _colour(x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Brightness, contrast and saturation jitter (torchvision's definitions), clipped to [0, 1]."""
    weights = torch.tensor(GREY).view(1, 3, 1, 1)
    brightness, contrast, saturation = (factors[:, k].view(-1, 1, 1, 1) for k in range(3))
    x = (x * brightness).clamp_(0, 1)
    mean = (x * weights).sum(1, keepdim=True).mean((2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean).clamp_(0, 1)
    grey = (x * weights).sum(1, keepdim=True)
    return ((x - grey) * saturation + grey).clamp_(0, 1)


def augment(x: torch.Tensor, policy: str, rngs: list[np.random.Generator]) -> torch.Tensor:
    """``x`` (N x 3 x R x R in [0, 1]) augmented by ``policy``, image i by ``rngs[i]``."""
    if policy == "none" or not len(x):
        return x
    theta, jitter = _parameters(policy, rngs)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return _colour(x, jitter) if jitter is not None else x
