"""Backend registry: which runtime loads which file suffix, and which pip extra provides it.

Backends are imported only when a file of theirs is loaded, so a device needs just the one runtime it uses.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeconv.errors import ArtifactError, UsageError
from edgeconv.runtime.backends.base import Session, TensorSpec


@dataclass(frozen=True)
class BackendSpec:
    """One inference runtime: its name, the file suffixes it loads, its module and the extra installing it."""

    name: str
    suffixes: tuple[str, ...]
    module: str
    runtime_package: str
    extra: str


BACKENDS: tuple[BackendSpec, ...] = (
    BackendSpec("onnxruntime", (".onnx",), "edgeconv.runtime.backends.ort", "onnxruntime", "onnx"),
    BackendSpec("litert", (".tflite",), "edgeconv.runtime.backends.litert", "ai_edge_litert", "litert"),
    BackendSpec("openvino", (".xml",), "edgeconv.runtime.backends.openvino", "openvino", "openvino"),
)


def backend_for(path: Path) -> BackendSpec:
    """The backend that loads ``path``, chosen by its suffix."""
    suffix = path.suffix.lower()
    for spec in BACKENDS:
        if suffix in spec.suffixes:
            return spec
    known = ", ".join(f"{s} ({b.name})" for b in BACKENDS for s in b.suffixes)
    raise ArtifactError(f"{path.name}: unsupported model file type {suffix or '(no suffix)'!r}; edgeconv runs {known}")


def load(path: str | Path, threads: int | None = None, **options: Any) -> Session:
    """Load a model file with the backend its suffix names; ``options`` are backend-specific settings."""
    path = Path(path)
    spec = backend_for(path)
    if not path.is_file():
        raise ArtifactError(f"no such model file: {path}")
    if path.stat().st_size == 0:
        raise ArtifactError(f"{path.name} is empty")
    module = importlib.import_module(spec.module)
    accepted = inspect.signature(module.load).parameters
    for option in options:
        if option not in accepted:
            raise UsageError(f"the {option.replace('_', ' ')} setting does not apply to {spec.name} models")
    session: Session = module.load(path, threads=threads, **options)
    return session


__all__ = ["BACKENDS", "BackendSpec", "Session", "TensorSpec", "backend_for", "load"]
