"""The sdist and wheel ``make test`` builds once (``make wheel``) and names in ``$EDGECONV_DIST``: the tests
that need a wheel (packaging, board setup) use them instead of building their own."""

from __future__ import annotations

import os
from pathlib import Path

DIST_ENV = "EDGECONV_DIST"


def prebuilt() -> dict[str, Path] | None:
    """``{"wheel": ..., "sdist": ...}`` of ``$EDGECONV_DIST``, or None when it names no such pair."""
    directory = Path(os.environ.get(DIST_ENV) or "/nonexistent")
    wheels, sdists = sorted(directory.glob("edgeconv-*.whl")), sorted(directory.glob("edgeconv-*.tar.gz"))
    return {"wheel": wheels[0], "sdist": sdists[0]} if wheels and sdists else None


def wheel_args() -> list[str]:
    """``--wheel PATH`` for ``edgeconv target setup`` when the run's wheel exists (else setup builds one)."""
    built = prebuilt()
    return ["--wheel", str(built["wheel"])] if built else []
