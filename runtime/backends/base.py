"""The interface every inference backend implements: open a model file, describe its I/O, run one batch.

A backend subclasses :class:`Session` and implements two methods: the ``_open`` classmethod (create the
runtime's session; return an :class:`Opened`) and ``_run``. Everything else a load needs (file checks,
option checks, silencing the runtime's own logging, turning its exceptions into one line, the one-input
check) is done once, by :func:`edgeconv.runtime.backends.load`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import ArtifactError, UsageError


@dataclass(frozen=True)
class TensorSpec:
    """Name, static shape and numpy dtype of a model input or output, with its affine quantization
    (``real = scale * (q - zero_point)``) when the tensor is an integer one."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.scale is not None:
            record.update(scale=self.scale, zero_point=self.zero_point)
        return record

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Real values -> this tensor's dtype (identity for float tensors)."""
        if self.scale is None or self.zero_point is None:
            return x.astype(self.dtype, copy=False)
        info = np.iinfo(np.dtype(self.dtype))
        return np.clip(np.round(x / self.scale) + self.zero_point, info.min, info.max).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """This tensor's values -> float32 real values."""
        if self.scale is None or self.zero_point is None:
            return q.astype(np.float32, copy=False)
        return ((q.astype(np.float32) - self.zero_point) * self.scale).astype(np.float32)


@dataclass
class Opened:
    """What a backend's ``_open`` returns: the runtime's own object and what edgeconv records about it."""

    handle: Any  # the runtime's session / interpreter / infer request
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    version: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session(ABC):
    """A loaded model, ready to run. Backends implement :meth:`_open` and :meth:`_run`."""

    path: Path
    backend: str
    backend_version: str
    input: TensorSpec
    output: TensorSpec
    settings: dict[str, Any] = field(default_factory=dict)
    handle: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._bind()

    @classmethod
    @abstractmethod
    def _open(cls, path: Path, threads: int | None) -> Opened:
        """Create the runtime's session for ``path`` (checked to exist, with its companions) and describe it.
        A backend adds its options (its format spec's ``backend_options``) as keyword parameters. Runtime
        exceptions may escape: the caller turns them into one line naming the file."""

    def _bind(self) -> None:
        """Called once ``handle`` is set: cache what :meth:`_run` needs (nothing by default)."""
        return None

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
        return self.run_accepted(np.ascontiguousarray(array))

    def run_accepted(self, array: np.ndarray) -> np.ndarray:
        """Run an array that :meth:`run` has already accepted (same shape, dtype, contiguous), without the
        checks: timed loops call this, so that latency is the runtime's and not the argument checking's
        (about 20 us per call, 2% of a millisecond model). A runtime's failure (a corrupt file that loaded
        but cannot run) is one :class:`ArtifactError` naming the file."""
        try:
            return self._run(array)
        except Exception as exc:  # the runtimes' own (pybind) exception types
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise ArtifactError(
                f"{self.path.name} failed to run: {lines[-1] if lines else type(exc).__name__}"
            ) from None

    def run_float(self, x: np.ndarray) -> np.ndarray:
        """Run on real-valued (normalised) input, quantizing it and dequantizing the output as the model needs."""
        return self.output.dequantize(self.run(self.input.quantize(np.asarray(x, dtype=np.float32))))

    def input_layout(self) -> str:
        """``NCHW`` or ``NHWC``, read off the input shape (image models have three channels)."""
        shape = self.input.shape
        if len(shape) == 4 and shape[1] == 3:
            return "NCHW"
        if len(shape) == 4 and shape[3] == 3:
            return "NHWC"
        raise UsageError(f"{self.path.name}: input shape {shape} is not an image batch (NCHW or NHWC, 3 channels)")

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


def runtime_reason(exc: BaseException) -> str:
    """The most specific line of a runtime's exception (OpenVINO nests its messages; the last line is the
    innermost)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
