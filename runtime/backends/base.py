"""The interface every inference backend implements: load a model file, describe its I/O, run one batch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import UsageError


@dataclass(frozen=True)
class TensorSpec:
    """Name, static shape and numpy dtype of a model input or output."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass
class Session(ABC):
    """A loaded model, ready to run. Backends fill in the fields and implement :meth:`_run`."""

    path: Path
    backend: str
    backend_version: str
    input: TensorSpec
    output: TensorSpec
    settings: dict[str, Any] = field(default_factory=dict)

    def run(self, array: np.ndarray) -> np.ndarray:
        """Run one batch; ``array`` must match the model input's shape and dtype exactly."""
        array = np.asarray(array)
        if tuple(array.shape) != self.input.shape:
            raise UsageError(
                f"input shape {tuple(array.shape)} does not match the model input "
                f"{self.input.name!r} {self.input.shape} of {self.path.name}"
            )
        if array.dtype != np.dtype(self.input.dtype):
            raise UsageError(
                f"input dtype {array.dtype} does not match the model input {self.input.name!r} "
                f"dtype {self.input.dtype} of {self.path.name}"
            )
        return self._run(np.ascontiguousarray(array))

    @abstractmethod
    def _run(self, array: np.ndarray) -> np.ndarray:
        """Backend-specific inference on an already validated array."""

    def describe(self) -> dict[str, Any]:
        """Backend, version, I/O and settings, as recorded in benchmark results."""
        return {
            "name": self.backend,
            "version": self.backend_version,
            "input": self.input.to_dict(),
            "output": self.output.to_dict(),
            "settings": dict(self.settings),
        }
