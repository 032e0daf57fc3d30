"""Errors that the CLI reports as one line and a non-zero exit, and the lazy import of optional extras.

This module is imported by the device side: it must stay free of heavy imports.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType


class EdgeconvError(Exception):
    """An error caused by the user's input or environment; the CLI prints its message without a traceback."""


class UsageError(EdgeconvError, ValueError):
    """A bad argument: unknown name, out-of-range number, wrong shape."""


class ArtifactError(EdgeconvError):
    """A model file that is missing, unreadable, corrupt, or of an unsupported kind."""


class MissingExtraError(EdgeconvError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the pip extra that installs it.

    ``purpose`` completes the sentence "<purpose> needs the '<extra>' extra", e.g. "edgeconv export".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the '{extra}' extra ({module} is not importable: {exc}): pip install 'edgeconv[{extra}]'"
        ) from None


def require_installed(module: str, extra: str, purpose: str) -> None:
    """Like :func:`require`, but only checks that ``module`` is installed, without importing it (importing a
    heavy framework prints its own warnings; the code that uses it imports it where its output is silenced)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise MissingExtraError(
            f"{purpose} needs the '{extra}' extra ({module} is not installed): pip install 'edgeconv[{extra}]'"
        )
