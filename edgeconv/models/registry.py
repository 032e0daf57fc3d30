"""The model registry: family name -> builder, group, widths, resolutions and description.

Families register themselves with the :func:`register_model` decorator in their own module; a second
registration under the same name raises, so two files can never silently shadow each other.
Families are grouped: ``edge`` networks designed for phones and boards, and the classic ``baseline``
networks a user compares them with.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgeconv.errors import UsageError

if TYPE_CHECKING:
    from torch import nn

    from edgeconv.models.published import PublishedWeights

Builder = Callable[[float, int], "nn.Module"]
Rename = Callable[[str], str]

MIN_RESOLUTION = 32
MAX_RESOLUTION = 2048  # beyond any edge classifier (MobileNetV2 at 2048 px is 25 GMACs); 10^5 px asked for 120 GB
MAX_WIDTH = 2.0
GROUPS = ("edge", "baseline")


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model name.

    ``widths``: the only widths the family is defined at (ShuffleNetV2's published channel tables), or
    empty when any width in (0, 2] works. ``rename``: maps the tensor names of a second reference
    implementation whose tensors come in another order (timm's RegNets) to this one's, for ``--weights``.
    ``weights``: the published pretrained files that fit this architecture (``edgeconv.models.published``).
    """

    name: str
    builder: Builder
    default_resolution: int
    description: str
    group: str = "edge"
    widths: tuple[float, ...] = ()
    min_resolution: int = MIN_RESOLUTION
    rename: Rename | None = None
    weights: tuple[PublishedWeights, ...] = ()

    def check_width(self, width: float) -> float:
        """``width`` validated for this family (see :func:`check_width`)."""
        value = check_width(width)
        if self.widths and value not in self.widths:
            choices = ", ".join(f"{w:g}" for w in self.widths)
            raise UsageError(f"{self.name} is defined at widths {choices} only, got {width!r}")
        return value

    def check_resolution(self, resolution: int) -> int:
        """``resolution`` validated for this family: its pooling stages need ``min_resolution`` pixels."""
        return check_resolution(resolution, self.min_resolution, self.name)

    @property
    def width_range(self) -> str:
        """``0.5, 1, 1.5, 2`` or ``(0, 2]``: what ``edgeconv models`` shows."""
        return ", ".join(f"{w:g}" for w in self.widths) if self.widths else f"(0, {MAX_WIDTH:g}]"


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(
    name: str,
    default_resolution: int,
    description: str,
    group: str = "edge",
    widths: tuple[float, ...] = (),
    min_resolution: int = MIN_RESOLUTION,
    rename: Rename | None = None,
    weights: tuple[PublishedWeights, ...] = (),
) -> Callable[[Builder], Builder]:
    """Decorator that registers ``builder(width, num_classes) -> nn.Module`` under ``name``."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = ModelSpec(
            name, builder, default_resolution, description, group, widths, min_resolution, rename, weights
        )
        return builder

    return decorate


def unregister_model(name: str) -> None:
    """Remove a registration (for plugins and tests that register temporary models)."""
    _REGISTRY.pop(name, None)


def list_models(group: str | None = None) -> list[str]:
    """Every registered model name (of ``group``, if given), sorted."""
    return sorted(name for name, spec in _REGISTRY.items() if group in (None, spec.group))


def parse_models(text: str) -> list[str]:
    """Model names from ``mobilenetv2,resnet18`` or a group name (``edge``, ``baseline``), in the order
    given, each once; unknown names raise as :func:`get_spec` does."""
    names: list[str] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        for name in list_models(item) if item in GROUPS else [get_spec(item).name]:
            if name not in names:
                names.append(name)
    if not names:
        raise UsageError(f"no model named in {text!r}")
    return names


def get_spec(name: str) -> ModelSpec:
    """The registered spec for ``name``; unknown names raise with the closest registered name suggested."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name.lower(), list(_REGISTRY), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known models: {', '.join(list_models())}"
        raise UsageError(f"unknown model {name!r}{hint}") from None


def check_width(width: float) -> float:
    """Validate a width multiplier: a finite float in (0, 2]."""
    try:
        value = float(width)
    except (TypeError, ValueError):
        raise UsageError(f"width must be a number in (0, {MAX_WIDTH:g}], got {width!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_WIDTH:
        raise UsageError(f"width must be a number in (0, {MAX_WIDTH:g}], got {width!r}")
    return value


def check_resolution(resolution: int, minimum: int = MIN_RESOLUTION, model: str | None = None) -> int:
    """Validate an input resolution: an integer >= 32 (five stride-2 stages need at least 32 pixels), or
    the ``minimum`` of ``model``, and at most ``MAX_RESOLUTION``."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < minimum:
        which = f" for {model}" if model and minimum > MIN_RESOLUTION else ""
        raise UsageError(f"resolution must be an integer >= {minimum}{which}, got {resolution!r}")
    if resolution > MAX_RESOLUTION:
        raise UsageError(f"resolution must be at most {MAX_RESOLUTION} px, got {resolution}")
    return resolution


def check_num_classes(num_classes: int) -> int:
    """Validate a class count: an integer >= 2."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise UsageError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    return num_classes
