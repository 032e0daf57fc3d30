"""Build registered models with validated arguments, and count their parameters and multiply-accumulates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.models.registry import check_num_classes, get_spec

CONFIG_ATTR = "edgeconv_config"


@dataclass(frozen=True)
class ModelInfo:
    """Size and cost of one model configuration (batch 1)."""

    name: str
    width: float
    resolution: int
    num_classes: int
    params: int
    macs: int


def create_model(
    name: str, width: float = 1.0, num_classes: int = 1000, resolution: int | None = None, seed: int | None = None
) -> nn.Module:
    """Build ``name`` at ``width`` for ``num_classes`` classes, in eval mode.

    ``resolution`` does not change the architecture; it is validated and recorded in
    ``model.edgeconv_config`` (with the family's native resolution as default) for export and training.
    ``seed`` makes the random initialisation reproducible (without touching the caller's random state).
    Bad arguments raise :class:`edgeconv.errors.UsageError` (a ``ValueError``).
    """
    spec = get_spec(name)
    width = spec.check_width(width)
    num_classes = check_num_classes(num_classes)
    resolution = spec.check_resolution(spec.default_resolution if resolution is None else resolution)
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        model = spec.builder(width, num_classes).eval()
    setattr(model, CONFIG_ATTR, {"model": name, "width": width, "resolution": resolution, "num_classes": num_classes})
    return model


def model_config(model: nn.Module) -> dict[str, Any]:
    """The ``{model, width, resolution, num_classes}`` recorded by :func:`create_model` on ``model``."""
    config = model.__dict__.get(CONFIG_ATTR)
    if not isinstance(config, dict):
        raise UsageError("this model was not built by edgeconv.models.create_model (it records the input size)")
    return config


def model_stem(config: Mapping[str, Any]) -> str:
    """``mobilenetv2_w0.75_r224``: the name every file made from this model starts with."""
    return f"{config['model']}_w{config['width']:g}_r{config['resolution']}"


def count_params(model: nn.Module) -> int:
    """All parameters, BatchNorm affine parameters included (the torchvision/timm convention)."""
    return sum(p.numel() for p in model.parameters())


class LayerCost(NamedTuple):
    """One convolution or linear layer's work for one image: its kind (as the profiles name it), MACs and the
    elements it reads and writes."""

    kind: str  # "pointwise conv", "depthwise conv", "full conv" (any other kernel or grouping), "fully connected"
    macs: int
    out_elements: int
    in_elements: int


def _conv_kind(module: nn.Conv2d) -> str:
    if module.groups == module.in_channels and module.in_channels > 1:
        return "depthwise conv"
    return "pointwise conv" if tuple(module.kernel_size) == (1, 1) and module.groups == 1 else "full conv"


def layer_costs(model: nn.Module, resolution: int) -> list[LayerCost]:
    """The :class:`LayerCost` of every convolution and linear layer, in execution order, from one forward pass."""
    costs: list[LayerCost] = []

    def conv_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        assert isinstance(module, nn.Conv2d)
        kh, kw = module.kernel_size
        macs = output.numel() * (module.in_channels // module.groups) * kh * kw
        costs.append(LayerCost(_conv_kind(module), macs, output.numel(), inputs[0].numel()))

    def linear_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        assert isinstance(module, nn.Linear)
        costs.append(
            LayerCost("fully connected", output.numel() * module.in_features, output.numel(), inputs[0].numel())
        )

    device = next(model.parameters()).device
    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, resolution, resolution, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return costs


def count_macs(model: nn.Module, resolution: int) -> int:
    """Multiply-accumulates of convolutions and linear layers for one image at ``resolution``."""
    return sum(cost.macs for cost in layer_costs(model, resolution))


# The per-op-kind columns of :attr:`Features.kinds`: depthwise convolutions are bound by the elements they move,
# pointwise ones by their MACs; full convolutions and the classifier are the rest.
KIND_FEATURES = ("pointwise MMACs", "depthwise MMACs", "other MMACs", "depthwise Melements", "other Melements")


@dataclass(frozen=True)
class Features:
    """What a latency model may be fitted on, for one image of one (width, resolution): whole-model MACs,
    parameters and activations (elements the convolutions and linear layers write), and the per-op-kind
    columns of :data:`KIND_FEATURES` (millions)."""

    mmacs: float
    mparams: float
    mactivations: float
    kinds: tuple[float, ...] = ()

    @classmethod
    def of(cls, costs: list[LayerCost], params: int) -> Features:
        """The features of a network with these layer costs and ``params`` parameters."""
        pointwise, depthwise = ([c for c in costs if c.kind == kind] for kind in ("pointwise conv", "depthwise conv"))
        other = [c for c in costs if c.kind not in ("pointwise conv", "depthwise conv")]
        kinds = (
            sum(c.macs for c in pointwise),
            sum(c.macs for c in depthwise),
            sum(c.macs for c in other),
            sum(c.in_elements + c.out_elements for c in depthwise),
            sum(c.in_elements + c.out_elements for c in pointwise + other),
        )
        return cls(
            sum(c.macs for c in costs) / 1e6,
            params / 1e6,
            sum(c.out_elements for c in costs) / 1e6,
            tuple(value / 1e6 for value in kinds),
        )


def latency_features(model: nn.Module, resolution: int) -> Features:
    """The latency :class:`Features` of ``model`` for one image at ``resolution``, from one forward pass."""
    return Features.of(layer_costs(model, resolution), count_params(model))


def shape_only_model(name: str, width: float, num_classes: int, resolution: int | None = None) -> nn.Module:
    """``create_model`` on the meta device: shapes without values, for counting parameters and MACs, where
    initialising VGG-16's 138 M weights would take most of the time."""
    with torch.device("meta"):
        return create_model(name, width, num_classes, resolution)


def model_info(name: str, width: float = 1.0, resolution: int | None = None, num_classes: int = 1000) -> ModelInfo:
    """Parameter count and MACs of ``name`` at ``width`` and ``resolution`` (default: the family's native)."""
    model = shape_only_model(name, width, num_classes, resolution)
    size = model_config(model)["resolution"]
    return ModelInfo(name, float(width), size, num_classes, count_params(model), count_macs(model, size))


def estimate_batchnorm_statistics(model: nn.Module, resolution: int, batches: int = 4, seed: int = 0) -> nn.Module:
    """Set BatchNorm running statistics from a few batches of N(0, 1) noise (weights untouched).

    A randomly initialised network in eval mode normalises with mean 0 / variance 1 and its logits shrink to
    ~1e-8; with estimated statistics its activations have a realistic scale, so that parity checks and
    quantization ranges of a random-weight export mean something.
    """
    generator = torch.Generator().manual_seed(seed)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(8, 3, resolution, resolution, generator=generator))
    for norm, momentum in zip(norms, momenta, strict=False):
        norm.momentum = momentum
    return model.eval()
