"""Budget-driven width selection: search by measured latency, train the finalists, choose, report.

The parts, each with one job: ``config`` (settings and lanes, checked once), ``problem`` (a family's data,
features and widths), ``artifacts`` (export with reuse, the int8 scheme), ``measurer`` (reuse, retry, device
conditions), ``trainer`` (passed in), ``lane`` (one lane's search and finalists), ``runner`` (every lane, the
selection across them, persisted once).
"""

from __future__ import annotations

from edgeconv.sweep.config import SweepConfig, SweepPlan, plan_sweep
from edgeconv.sweep.runner import run_sweep

__all__ = ["SweepConfig", "SweepPlan", "plan_sweep", "run_sweep"]
