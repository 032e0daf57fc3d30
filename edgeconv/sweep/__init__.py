"""Budget-driven width selection: search by measured latency, train the finalists, choose, report."""

from __future__ import annotations

from edgeconv.sweep.runner import Sweep, SweepConfig

__all__ = ["Sweep", "SweepConfig"]
