"""What a converter is asked to do (``ConversionRequest``) and how int8 is produced (``QuantRecipe``).

A recipe option means the same in every format:
- ``method``: "minmax" calibrates activation ranges with global min/max; "alternative" is the format's
  second method (percentile 99.999 for onnxruntime, NNCF's mixed preset with full bias correction,
  moving-average ranges for ai-edge-quantizer).
- ``calib_size``: how many calibration images (None: all of the calibration set).
- ``float_ends``: the first convolution and the classifier stay in float (the ops each format's spec
  names in ``float_ends_ops``, found with :func:`edgeconv.runtime.formats.first_and_last`).
- ``float_io``: float input and output around an int8 graph (TFLite; the others always have float I/O).
- ``scheme``: the int8 scheme, one of the format's ``int8_schemes`` (``runtime.formats``), resolved by
  :func:`edgeconv.exporters.export.export` from ``auto`` for the CPU the file is meant for.

The accuracy gate retries an int8 export with progressively safer recipes: first the default, then more
calibration data with the alternative method, then float ends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from edgeconv.exporters.calibration import CalibrationSet
    from edgeconv.runtime.formats import FormatSpec


@dataclass(frozen=True)
class QuantRecipe:
    """One way of quantizing to int8."""

    method: str = "minmax"
    calib_size: int | None = None
    float_ends: bool = False
    float_io: bool = False
    scheme: str = "auto"

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
    calibration: CalibrationSet | None
    recipe: QuantRecipe
    spec: FormatSpec

    def float_ends(self, ops: list[tuple[str, str]]) -> list[str]:
        """The names of the ops the recipe keeps in float, from this format's (op type, name) list in graph
        order: the first convolution and the classifier with ``float_ends``, else none."""
        from edgeconv.runtime.formats import first_and_last

        return first_and_last(ops, self.spec.float_ends_ops) if self.recipe.float_ends else []
