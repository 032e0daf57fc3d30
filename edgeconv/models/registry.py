"""The model registry: family name -> builder, default resolution and description.

Families register themselves with the :func:`register_model` decorator in their own module; a second
registration under the same name raises, so two files can never silently shadow each other.
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

Builder = Callable[[float, int], "nn.Module"]

MIN_RESOLUTION = 32
MAX_WIDTH = 2.0


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model name."""

    name: str
    builder: Builder
    default_resolution: int
    description: str


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str, default_resolution: int, description: str) -> Callable[[Builder], Builder]:
    """Decorator that registers ``builder(width, num_classes) -> nn.Module`` under ``name``."""

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = ModelSpec(name, builder, default_resolution, description)
        return builder

    return decorate


def unregister_model(name: str) -> None:
    """Remove a registration (for plugins and tests that register temporary models)."""
    _REGISTRY.pop(name, None)


def list_models() -> list[str]:
    """Every registered model name, sorted."""
    return sorted(_REGISTRY)


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


def check_resolution(resolution: int) -> int:
    """Validate an input resolution: an integer >= 32 (five stride-2 stages need at least 32 pixels)."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < MIN_RESOLUTION:
        raise UsageError(f"resolution must be an integer >= {MIN_RESOLUTION}, got {resolution!r}")
    return resolution


def check_num_classes(num_classes: int) -> int:
    """Validate a class count: an integer >= 2."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise UsageError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    return num_classes
