"""A network's weights at one width from the same family's weights at a wider (or equal) width.

Every tensor in these networks has a channel dimension, and several layers share one channel index: a
convolution's output with its BatchNorm and activation, a depthwise convolution's input and output, both sides
of a residual addition (a whole stage keeps one channel set), a squeeze-excite gate and the tensor it scales,
the last features and the classifier's input. ``channel_spaces`` finds these shared indices (channel spaces)
by tracing the network with ``torch.fx``; ``derive_weights`` keeps, in every space, the channels the wider
network relies on most and copies their weights into the narrower one.

Criteria (``CRITERIA``): ``batchnorm-scale`` (network slimming, Liu et al. 2017): a normalised channel leaves
its BatchNorm multiplied by |gamma|, so a small |gamma| is a channel the next layers barely see;
``scale-and-use``: |gamma| times the L1 norm of the weights that read the channel, since a network can carry a
channel at a small |gamma| and large weights after it (or the reverse) and only the product is what it does;
``activation``:
the spread of that BatchNorm's output on the user's images (``channel_scores``), which also drops channels that
are constant on them whatever their |gamma|; ``first-k``: the first channels (the naive baseline). A space
shared by several BatchNorms sums their scores, each divided by its mean so that every layer of a stage counts
alike; a space without a BatchNorm (a squeeze-excite reduction) ranks by the L1 norm of the filters that
produce it.
Kept channels stay in their original order, so a derivation at equal width is the identity. Given the user's
images (``refit_on``), every channel-mixing layer is then refitted by least squares to the wide network's outputs
(``edgeconv.models.reconstruct``): selection decides which channels stay, the refit makes up for those that go.

ShuffleNetV2's split and shuffle move a channel to another position at every unit; ``derive_shuffle`` keeps, for
each of its channels, one of the wide network's that meets the same units. Channel concatenation (DenseNet,
Inception, GoogLeNet, Xception's entry) and grouped convolutions (ResNeXt) are refused in one line naming the
family.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

import torch
from torch import fx, nn

from edgeconv.errors import UsageError
from edgeconv.models.channel_scores import ChannelSpaces, DeriveError, importance, input_variances
from edgeconv.models.derive_shuffle import Importance, Selection, ShuffleSelection
from edgeconv.models.reconstruct import Batches, reconstruct
from edgeconv.models.shufflenetv2 import ShuffleNetV2

_PASS_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.SiLU,
    nn.Dropout,
    nn.Identity,
    nn.AdaptiveAvgPool2d,
    nn.MaxPool2d,
    nn.AvgPool2d,
)
# functions and tensor methods that keep every channel where it is
_PASS_FUNCTIONS: set[Any] = {torch.relu, torch.sigmoid, "relu", "sigmoid"}
_PASS_FUNCTIONS |= {
    getattr(nn.functional, name)
    for name in ("relu", "relu6", "hardswish", "avg_pool2d", "max_pool2d", "adaptive_avg_pool2d")
}
_JOIN_FUNCTIONS = {operator.add, operator.mul, torch.add, torch.mul}


def channel_spaces(model: nn.Module, family: str) -> ChannelSpaces:
    """The channel spaces of ``model`` (a network of ``family``, named in refusals)."""
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception as exc:  # fx cannot trace data-dependent Python: the family is not covered
        raise DeriveError(f"{family}: its layers cannot be traced for channel selection ({exc})") from None
    modules = dict(model.named_modules())
    spaces, of = ChannelSpaces(), dict[fx.Node, int]()
    for node in graph.nodes:
        tensors = [of[arg] for arg in node.args if isinstance(arg, fx.Node)]
        if node.op == "placeholder":
            of[node] = spaces.new()
            spaces.fixed.add(of[node])
        elif node.op == "output":
            spaces.fixed.add(tensors[0])
        elif node.op == "call_module":
            of[node] = _module_space(spaces, node.target, modules[node.target], tensors[0], family)
        elif node.op in ("call_function", "call_method"):
            of[node] = _function_space(spaces, node, tensors, family)
        else:
            raise DeriveError(f"{family}: {node.op} {node.target} is not covered by channel selection")
    return spaces


def _module_space(spaces: ChannelSpaces, name: str, module: nn.Module, source: int, family: str) -> int:
    if isinstance(module, nn.Conv2d):
        depthwise = module.groups == module.in_channels == module.out_channels
        if module.groups != 1 and not depthwise:
            raise DeriveError(f"{family}: grouped convolutions ({name}) are not covered by channel selection")
        out = source if depthwise else spaces.new()
    elif isinstance(module, nn.Linear):
        out = spaces.new()
    elif isinstance(module, (nn.BatchNorm2d, *_PASS_MODULES)):
        out = source
    else:
        raise DeriveError(f"{family}: {type(module).__name__} ({name}) is not covered by channel selection")
    if isinstance(module, nn.Conv2d | nn.Linear | nn.BatchNorm2d):
        spaces.layers[name] = (source, out)
    return out


def _function_space(spaces: ChannelSpaces, node: fx.Node, tensors: list[int], family: str) -> int:
    if node.target in _JOIN_FUNCTIONS and len(tensors) == 2:
        return spaces.join(*tensors)
    if (
        len(tensors) == 1
        and (
            node.target in _PASS_FUNCTIONS
            or node.target in _JOIN_FUNCTIONS  # x + 1, x * 0.5
            or (node.target in (torch.flatten, "flatten") and node.args[1:2] == (1,))
        )
    ):
        return tensors[0]
    if len(tensors) == 1 and node.target in (torch.mean, "mean") and _spatial_only(node):
        return tensors[0]  # a squeeze-excite's global average
    what = getattr(node.target, "__name__", str(node.target))
    kind = " (channel concatenation)" if what == "cat" else ""
    raise DeriveError(f"{family}: {what}{kind} is not covered by channel selection")


def _spatial_only(node: fx.Node) -> bool:
    """Whether a ``mean`` reduces over the spatial dimensions only (2 and 3, keeping the channels)."""
    dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    return isinstance(dims, tuple | list) and set(dims) <= {2, 3, -1, -2}


CRITERIA = ("scale-and-use", "batchnorm-scale", "activation", "first-k")  # the first is the default


def derive_weights(
    source: nn.Module,
    target: nn.Module,
    family: str,
    criterion: str = CRITERIA[0],
    batches: Iterable[torch.Tensor] | None = None,
    refit_on: Batches | None = None,
) -> dict[str, Any]:
    """Load into ``target`` the weights of ``source`` (the same family, as wide or wider in every layer), keeping
    in every channel space the most important channels (``first-k``: the first ones, the naive baseline;
    ``activation``: by their output's spread on ``batches``, the user's images); with ``refit_on`` (batches of the
    user's images), every channel-mixing layer is then refitted to the wide network's outputs
    (``edgeconv.models.reconstruct``). Returns what was done."""
    if criterion not in CRITERIA:
        raise UsageError(f"derivation criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    if criterion == "activation" and batches is None:
        raise UsageError("the activation criterion ranks channels on images: pass the training batches")
    variances = input_variances(source, batches) if criterion == "activation" and batches is not None else None
    if isinstance(source, ShuffleNetV2) and isinstance(target, ShuffleNetV2):
        shuffle = ShuffleSelection(source, target, Importance(source, criterion, variances))
        selection = shuffle.run()
        spaces, narrowed = shuffle.spaces, shuffle.narrowed
    else:
        selection, spaces, narrowed = _traced_selection(source, target, family, criterion, variances)
    modules, state = dict(source.named_modules()), {}
    for name, (inputs, outputs) in selection.items():
        state.update(_select(name, modules[name], inputs, outputs))
    target.load_state_dict(state, strict=True)
    refitted = reconstruct(target, source, selection, refit_on) if refit_on is not None else {}
    return {"criterion": criterion, "channel_spaces": spaces, "narrowed": narrowed, **refitted}


def _traced_selection(
    source: nn.Module,
    target: nn.Module,
    family: str,
    criterion: str,
    variances: dict[str, torch.Tensor] | None,
) -> tuple[Selection, int, int]:
    """Every layer's kept (input, output) channels by the channel spaces ``torch.fx`` finds, the number of
    spaces and of narrowed ones."""
    spaces = channel_spaces(source, family)
    target_spaces = channel_spaces(target, family)
    if list(spaces.layers) != list(target_spaces.layers):
        raise DeriveError(f"{family}: the two networks do not have the same layers (another depth?)")
    wanted = _space_sizes(target, spaces)
    scores = importance(source, spaces, variances, readers=criterion == "scale-and-use")
    modules = dict(source.named_modules())
    kept: dict[int, torch.Tensor] = {}
    for space, size in wanted.items():
        have = _space_size(modules, spaces, space)
        if space in spaces.fixed and size != have:
            raise DeriveError(f"{family}: the networks differ in their inputs or classes ({size} vs {have})")
        if size > have:
            raise DeriveError(f"{family}: the target is wider than the weights ({size} > {have} channels)")
        naive = size == have or space not in scores or criterion == "first-k"
        ranked = torch.arange(have) if naive else torch.argsort(-scores[space])
        kept[space] = ranked[:size].sort().values
    selection = {name: (kept[spaces.of(name)[0]], kept[spaces.of(name)[1]]) for name in spaces.layers}
    narrowed = sum(int(len(kept[s]) < _space_size(modules, spaces, s)) for s in kept)
    return selection, len(kept), narrowed


def _space_size(modules: dict[str, nn.Module], spaces: ChannelSpaces, space: int) -> int:
    for name in spaces.layers:
        first, second = spaces.of(name)
        if space in (first, second):
            return _channels(modules[name], space == second)
    raise DeriveError(f"channel space {space} has no layer")


def _channels(module: nn.Module, output: bool) -> int:
    if isinstance(module, nn.Conv2d):
        return int(module.out_channels if output else module.in_channels)
    if isinstance(module, nn.Linear):
        return int(module.out_features if output else module.in_features)
    return int(module.num_features)  # type: ignore[arg-type]


def _space_sizes(target: nn.Module, spaces: ChannelSpaces) -> dict[int, int]:
    """Every space's channel count in ``target``, whose layers have the same names as the source's."""
    modules, sizes = dict(target.named_modules()), dict[int, int]()
    for name in spaces.layers:
        for space, output in zip(spaces.of(name), (False, True), strict=True):
            size = _channels(modules[name], output)
            if sizes.setdefault(space, size) != size:
                raise DeriveError(f"{name}: the networks share channels differently")
    return sizes


def _select(name: str, module: nn.Module, inputs: torch.Tensor, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """The state of ``module`` restricted to the kept input and output channels."""
    state = {}
    for key, tensor in module.state_dict().items():
        if key == "num_batches_tracked":
            state[f"{name}.{key}"] = tensor.clone()
            continue
        value = tensor.detach()[outputs] if tensor.dim() > 0 else tensor.detach()
        depthwise = isinstance(module, nn.Conv2d) and module.groups > 1
        if key == "weight" and isinstance(module, nn.Conv2d | nn.Linear) and not depthwise:
            value = value[:, inputs]
        state[f"{name}.{key}"] = value.clone()
    return state


def recalibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Recompute every BatchNorm's running statistics as the plain average over ``batches`` (prepared inputs,
    e.g. the training images): a derived network's channels no longer see the statistics they were trained with.
    Weights are not changed; returns the number of images seen. The model is left in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over all batches
    seen = 0
    model.train()
    with torch.no_grad():
        for batch in batches:
            model(batch)
            seen += len(batch)
    for norm, momentum in zip(norms, saved, strict=True):
        norm.momentum = momentum
    model.eval()
    return seen
