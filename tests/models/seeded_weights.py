"""Deterministic weights for a state-dict layout, and a deterministic input: the same values under any
implementation that lists the same tensors in the same order. Used by ``make_reference_models.py`` (run
beside torchvision and timm) and by the tests that compare edgeconv's families with what it recorded.

Plain torch, no edgeconv: the generator imports this file from an environment without edgeconv.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch

Layout = Sequence[tuple[str, Sequence[int]]]


def seeded_state(layout: Layout, seed: int = 0) -> OrderedDict[str, torch.Tensor]:
    """One tensor per ``(name, shape)``, in order, from one generator: weights ~ N(0, 1/fan-in) scaled for
    ReLU networks, BatchNorm scales near 1, biases and running means small, running variances in [0.5, 1.5]."""
    generator = torch.Generator().manual_seed(seed)
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name, shape in layout:
        size = tuple(shape)
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(0)
        elif name.endswith("running_var"):
            state[name] = 0.5 + torch.rand(size, generator=generator)
        elif len(size) >= 2:
            fan_in = math.prod(size[1:])
            state[name] = torch.randn(size, generator=generator) * math.sqrt(2.0 / fan_in)
        elif name.endswith("weight"):
            state[name] = 1.0 + 0.1 * torch.randn(size, generator=generator)
        else:
            state[name] = 0.1 * torch.randn(size, generator=generator)
    return state


def seeded_input(resolution: int, seed: int = 1, batch: int = 2) -> torch.Tensor:
    """A batch of N(0, 1) images, NCHW."""
    return torch.randn(batch, 3, resolution, resolution, generator=torch.Generator().manual_seed(seed))
