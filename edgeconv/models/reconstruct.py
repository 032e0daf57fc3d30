"""Least-squares reconstruction of a derived network's layers (channel pruning as He et al. 2017 and ThiNet, Luo et
al. 2017, do it): once the kept channels are chosen, every convolution and linear layer that mixes channels is
refitted, in forward order, so that on the user's images its output from the narrow network's own inputs matches
the wide network's output at the kept channels. The channels a layer loses were part of every sum it computes;
the weights of those it keeps can make up for them, and since each layer is fitted to what the already-refitted
layers before it produce, the error does not compound through the network.

The fit is a ridge regression towards the selected weights (``RIDGE`` times the mean input energy): with few images
(a squeeze-excite layer sees one row per image) the solution stays at the copied weights instead of overfitting.
Depthwise convolutions keep their weights: each reads one channel, and a kept channel keeps all of its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import torch
from torch import nn
from torch.nn import functional as F

from edgeconv.models.derive_shuffle import Selection

Batches = Callable[[], Iterable[torch.Tensor]]
RIDGE = 1e-2
ROWS_PER_BATCH = 4096  # positions sampled from each batch's feature map: enough rows for a few hundred inputs


class _Captured(Exception):
    """Raised from a hook once the layer's tensor is recorded: the rest of the forward pass is not needed."""


def _capture(model: nn.Module, module: nn.Module, batch: torch.Tensor, output: bool) -> torch.Tensor:
    """The input (or output) of ``module`` when ``model`` runs on ``batch``."""
    seen: list[torch.Tensor] = []

    def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], result: torch.Tensor) -> None:
        seen.append(result if output else inputs[0])
        raise _Captured

    handle = module.register_forward_hook(hook)
    try:
        model(batch)
    except _Captured:
        pass
    finally:
        handle.remove()
    return seen[0]


def _rows(module: nn.Module, x: torch.Tensor, y: torch.Tensor, rng: torch.Generator) -> tuple[torch.Tensor, ...]:
    """The regression's rows: ``module``'s unfolded inputs (with a 1 for a bias) and the outputs they give."""
    if isinstance(module, nn.Conv2d):
        x = F.unfold(x, module.kernel_size, module.dilation, module.padding, module.stride)  # type: ignore[arg-type]
        x, y = x.transpose(1, 2).flatten(0, 1), y.flatten(2).transpose(1, 2).flatten(0, 1)
    if len(x) > ROWS_PER_BATCH:
        pick = torch.randperm(len(x), generator=rng)[:ROWS_PER_BATCH]
        x, y = x[pick], y[pick]
    if module.bias is not None:
        x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    return x.double(), y.double()


def _refit(narrow: nn.Module, wide: nn.Module, name: str, kept_outputs: torch.Tensor, batches: Batches) -> bool:
    """Refit layer ``name`` of ``narrow``; False when it saw no images."""
    mine = cast(nn.Conv2d | nn.Linear, narrow.get_submodule(name))
    theirs = wide.get_submodule(name)
    sums: list[torch.Tensor] = []  # rows' Gram matrix, rows against targets
    rng = torch.Generator().manual_seed(0)
    for batch in batches():
        x = _capture(narrow, mine, batch, output=False)
        y = _capture(wide, theirs, batch, output=True)[:, kept_outputs]
        rows, targets = _rows(mine, x, y, rng)
        products = [rows.T @ rows, rows.T @ targets]
        sums = [a + b for a, b in zip(sums, products, strict=True)] if sums else products
    if not sums:
        return False
    gram, cross = sums
    weight = mine.weight.detach().flatten(1).double()
    start = torch.cat([weight, mine.bias.detach()[:, None].double()], 1) if mine.bias is not None else weight
    ridge = RIDGE * gram.diagonal().mean().clamp_min(1e-12)
    solved = torch.linalg.solve(gram + ridge * torch.eye(len(gram), dtype=gram.dtype), cross + ridge * start.T).T
    with torch.no_grad():
        mine.weight.copy_(solved[:, : weight.shape[1]].reshape(mine.weight.shape).to(mine.weight.dtype))
        if mine.bias is not None:
            mine.bias.copy_(solved[:, -1].to(mine.bias.dtype))
    return True


def _forward_order(model: nn.Module, names: list[str], batch: torch.Tensor) -> list[str]:
    """``names`` in the order the forward pass first calls them."""
    order: list[str] = []
    handles = [
        model.get_submodule(name).register_forward_hook(lambda *_args, name=name: order.append(name)) for name in names
    ]
    try:
        model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return list(dict.fromkeys(order))


def mixes_channels(module: nn.Module) -> bool:
    """A linear layer, or a convolution that is not depthwise."""
    return isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d) and module.groups == 1)


def reconstruct(narrow: nn.Module, wide: nn.Module, selection: Selection, batches: Batches) -> dict[str, Any]:
    """Refit, in forward order, every channel-mixing layer of ``narrow`` that lost input channels, against
    ``wide`` (the network it was derived from, ``selection`` its kept channels) on ``batches`` of prepared images.
    Both networks are evaluated in eval mode; returns the number of layers refitted."""
    narrowed = [
        name
        for name, (inputs, _) in selection.items()
        if mixes_channels(wide.get_submodule(name)) and len(inputs) < _input_width(wide.get_submodule(name))
    ]
    first = next(iter(batches()), None)
    if first is None or not narrowed:
        return {"reconstructed_layers": 0}
    narrow.eval()
    wide.eval()
    with torch.no_grad():
        order = _forward_order(narrow, narrowed, first)
        done = sum(_refit(narrow, wide, name, selection[name][1], batches) for name in order)
    return {"reconstructed_layers": done}


def _input_width(module: nn.Module) -> int:
    return int(module.in_features if isinstance(module, nn.Linear) else module.in_channels)  # type: ignore[arg-type]
