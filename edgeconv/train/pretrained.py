"""Start from pretrained weights in a local file: an edgeconv checkpoint, or a state dict of the same
architecture saved by torchvision, timm or another implementation.

Tensors are matched by name when every name matches; otherwise by order and shape (architectures written
from the same paper list their tensors in the same order). Training-only auxiliary classifiers (Inception
v3's ``AuxLogits``, GoogLeNet's ``aux1``/``aux2``) are left out. A classifier head whose class count differs is
re-initialised. A file that does not fit is refused, naming the first tensor that does not match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgeconv.atomic import sha256_files
from edgeconv.checkpoint import CHECKPOINT_FORMAT
from edgeconv.errors import ArtifactError, first_line
from edgeconv.models.factory import CONFIG_ATTR
from edgeconv.models.registry import Rename, get_spec

_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")
_PREFIXES = ("module.", "model.", "_orig_mod.")
_AUXILIARY = ("AuxLogits.", "aux1.", "aux2.")


@dataclass
class LoadReport:
    """What was loaded from where."""

    path: str
    sha256: str
    matched_by: str  # "name" or "order"
    tensors_loaded: int
    head_reinitialised: bool
    skipped: list[str] = field(default_factory=list)
    trained_on: list[str] | None = None  # an edgeconv checkpoint's class names

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _state_dict_of(payload: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT:
        payload = payload["state_dict"]
    elif isinstance(payload, dict):
        for key in _NESTED_KEYS:
            if isinstance(payload.get(key), dict):
                payload = payload[key]
                break
    if isinstance(payload, nn.Module):
        payload = payload.state_dict()
    if not isinstance(payload, dict) or not payload or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise ArtifactError(f"{path.name} holds no state dict of tensors")
    state = {}
    for name, tensor in payload.items():
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
        if not name.startswith(_AUXILIARY):
            state[name] = tensor
    return state


def _learnable(state: dict[str, torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
    """Tensors in order, without BatchNorm's step counters (not every implementation saves them)."""
    return [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]


def head_module(model: nn.Module) -> nn.Linear | nn.Conv2d | None:
    """The classifier head: the last Linear layer, or the last conv where there is none (SqueezeNet)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return linears[-1] if linears else convs[-1] if convs else None


def _head_names(model: nn.Module) -> set[str]:
    """State-dict names of the classifier head's weight and bias."""
    head = head_module(model)
    return {name for name, p in model.named_parameters() if head is not None and any(p is q for q in head.parameters())}


def _renaming(model: nn.Module) -> Rename | None:
    """The family's map from a second reference implementation's tensor names, if it has one."""
    config = model.__dict__.get(CONFIG_ATTR)
    return get_spec(config["model"]).rename if isinstance(config, dict) else None


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


Named = list[tuple[str, torch.Tensor]]


def _first_mismatch(mine: Named, theirs: Named, head: set[str]) -> str:
    """Describe the first tensor of ``mine`` that ``theirs`` (in order) does not provide."""
    for (name, tensor), (their_name, their_tensor) in zip(mine, theirs, strict=False):
        if _shape(tensor) != _shape(their_tensor) and name not in head:
            return f"tensor {name!r} is {_shape(tensor)} here but {their_name!r} is {_shape(their_tensor)} in the file"
    if len(mine) > len(theirs):
        return f"tensor {mine[len(theirs)][0]!r} has no counterpart in the file"
    return f"the file's tensor {theirs[len(mine)][0]!r} has no counterpart in this model"


def _read(path: Path) -> Any:
    """A PyTorch file's payload, or a safetensors file's tensors (timm's and Hugging Face's format)."""
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except (SafetensorError, OSError, ValueError) as exc:
            raise ArtifactError(f"{path.name} is not a readable safetensors file: {first_line(exc)}") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, pickle and runtime errors for damaged files
        raise ArtifactError(f"{path.name} is not a readable PyTorch file: {first_line(exc)}") from None


def read_weights(
    path: str | Path,
) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None, list[str] | None]:
    """The state dict in ``path`` and, for an edgeconv checkpoint, the model configuration and the class names
    it records (None for other files)."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"no such weights file: {path}")
    payload = _read(path)
    ours = isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT
    config = payload.get("config") if ours else None
    names = payload.get("meta", {}).get("class_names") if ours and isinstance(payload.get("meta"), dict) else None
    return (
        _state_dict_of(payload, path),
        config if isinstance(config, dict) else None,
        [str(n) for n in names] if isinstance(names, list) else None,
    )


def learnable_shapes(state: dict[str, torch.Tensor]) -> list[tuple[int, ...]]:
    """The shapes of a state dict's tensors in order, BatchNorm step counters left out."""
    return [_shape(t) for _, t in _learnable(state)]


def load_pretrained(model: nn.Module, path: str | Path, layout: str | None = None) -> LoadReport:
    """Copy the weights in ``path`` into ``model`` (in place); see the module docstring for the rules.
    ``layout`` ``name`` insists on matching tensor names, ``order`` on order and shape (None: whichever fits)."""
    path = Path(path)
    source, _, trained_on = read_weights(path)
    head = _head_names(model)
    mine, theirs = _learnable(model.state_dict()), _learnable(source)
    names_match = {k for k, _ in mine} == {k for k, _ in theirs}
    rename = _renaming(model)
    if not names_match and rename is not None and {k for k, _ in mine} == {rename(k) for k, _ in theirs}:
        source = {rename(k): v for k, v in source.items()}
        names_match = True
    if layout == "name" and not names_match:
        raise ArtifactError(f"{path.name} does not fit this model: its tensor names are not this model's")
    if names_match and layout != "order":
        theirs = [(name, source[name]) for name, _ in mine]
    if len(mine) != len(theirs):
        raise ArtifactError(f"{path.name} does not fit this model: {_first_mismatch(mine, theirs, head)}")

    new_state, skipped = model.state_dict(), []
    for (name, tensor), (_, their_tensor) in zip(mine, theirs, strict=True):
        if _shape(tensor) == _shape(their_tensor):
            new_state[name] = their_tensor.to(tensor.dtype)
        elif name in head:
            skipped.append(name)
        else:
            raise ArtifactError(f"{path.name} does not fit this model: {_first_mismatch(mine, theirs, head)}")
    model.load_state_dict(new_state)
    fresh = head_module(model)
    if skipped and fresh is not None:  # a new class count: fresh head, as at initialisation (the same every time)
        nn.init.normal_(fresh.weight, 0, 0.01, generator=torch.Generator().manual_seed(0))
        if fresh.bias is not None:
            nn.init.zeros_(fresh.bias)
    return LoadReport(
        path=str(path.resolve()),
        sha256=sha256_files(path),
        matched_by="name" if names_match and layout != "order" else "order",
        tensors_loaded=len(mine) - len(skipped),
        head_reinitialised=bool(skipped),
        skipped=skipped,
        trained_on=trained_on,
    )
