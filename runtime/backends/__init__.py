"""``load()``: open a model file with the backend its format names (``edgeconv.runtime.formats``).

Backends are imported only when a file of theirs is loaded, so a device needs just the one runtime it uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeconv.errors import ArtifactError, EdgeconvError, UsageError
from edgeconv.quiet import quiet
from edgeconv.runtime.backends.base import Opened, Session, TensorSpec, runtime_reason
from edgeconv.runtime.formats import FormatSpec, format_for
from edgeconv.runtime.validate import check_content


def _check_files(path: Path, spec: FormatSpec) -> None:
    if not path.is_file():
        raise ArtifactError(f"no such model file: {path}")
    if path.stat().st_size == 0:
        raise ArtifactError(f"{path.name} is empty")
    for suffix, what in spec.companions.items():
        companion = path.with_suffix(suffix)
        if not companion.is_file():
            raise ArtifactError(f"{path.name} needs its {what} {companion.name} next to it")
        if companion.stat().st_size == 0:
            raise ArtifactError(f"{companion.name}, the {what} of {path.name}, is empty")
    check_content(path, spec)


def _check_options(spec: FormatSpec, threads: int | None, options: dict[str, Any]) -> None:
    if threads is not None and threads < 1:
        raise UsageError(f"threads must be >= 1, got {threads}")
    known = {option.name: option for option in spec.backend_options}
    for name, value in options.items():
        if name not in known:
            raise UsageError(f"the {name.replace('_', ' ')} setting does not apply to {spec.backend_name} models")
        choices = known[name].choices
        if choices is not None and value not in choices:
            raise UsageError(f"{name.replace('_', ' ')} must be one of {', '.join(choices)}, got {value!r}")


def load(path: str | Path, threads: int | None = None, **options: Any) -> Session:
    """Load a model file with the backend its suffix names.

    ``threads`` sets the runtime's inference threads (None: its default); ``options`` are the backend's
    settings declared in its format spec (e.g. ``spinning`` for onnxruntime). Any failure is one
    :class:`ArtifactError` or :class:`UsageError` naming the file; the runtime's own logging is silenced.
    """
    path = Path(path)
    spec = format_for(path)
    _check_files(path, spec)
    options = {name: value for name, value in options.items() if value is not None}
    _check_options(spec, threads, options)
    session_class: type[Session] = spec.load_backend()
    with quiet():
        try:
            opened: Opened = session_class._open(path, threads, **options)
        except EdgeconvError:
            raise
        except Exception as exc:  # runtimes raise their own (pybind) exception types for every kind of bad file
            raise ArtifactError(f"{path.name} is not a loadable {spec.label} model: {runtime_reason(exc)}") from None
    if len(opened.inputs) != 1 or not opened.outputs:
        raise ArtifactError(
            f"{path.name}: expected one input and at least one output, "
            f"found {len(opened.inputs)} and {len(opened.outputs)}"
        )
    return session_class(
        path=path,
        backend=spec.backend_name,
        backend_version=opened.version,
        input=opened.inputs[0],
        output=opened.outputs[0],
        settings={"threads": threads if threads is not None else "default", **opened.settings},
        handle=opened.handle,
    )


__all__ = ["Opened", "Session", "TensorSpec", "load"]
