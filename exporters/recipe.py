"""What a converter is asked to do (``ConversionRequest``) and how int8 is produced (``QuantRecipe``).

The accuracy gate retries an int8 export with progressively safer recipes: first the default (min/max
calibration on the calibration set), then more calibration data with the format's alternative calibration
method, then the first and last layers kept in float.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from edgeconv.exporters.calibration import CalibrationSet


@dataclass(frozen=True)
class QuantRecipe:
    """One way of quantizing to int8."""

    method: str = "minmax"  # "minmax" or "alternative" (the format's second calibration method)
    calib_size: int | None = None  # None: all of the calibration set
    float_ends: bool = False  # keep the first conv and the classifier in float
    float_io: bool = False  # TFLite: float input/output around an int8 graph

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fallback_recipes(first: QuantRecipe, calib_available: int) -> list[QuantRecipe]:
    """The default recipe, then more calibration data with the alternative method, then float ends."""
    more = replace(first, method="alternative", calib_size=None if calib_available else first.calib_size)
    return [first, more, replace(more, float_ends=True)]


@dataclass
class ConversionRequest:
    """Everything a format's converter needs."""

    model: torch.nn.Module
    example: torch.Tensor  # NCHW, batch 1, the exported input size
    destination: Path
    precision: str
    calibration: CalibrationSet | None = None
    recipe: QuantRecipe = QuantRecipe()
