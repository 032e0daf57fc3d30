"""A sweep across model families: choose the architecture, not only the width.

Each family gets its own latency search on the same target (``OUT/<family>/``, a complete sweep of its own:
a family whose narrowest width is over budget is reported with its fastest measured latency and never
trained); then one selection and one Pareto front across all their candidates, with a classic baseline
marked, and each family's measured milliseconds per GMAC and per million parameters: the numbers that show
whether a family's small size or MAC count turns into speed on this device. ``OUT/families.json`` holds it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeconv.atomic import write_json
from edgeconv.errors import UsageError
from edgeconv.models.registry import get_spec
from edgeconv.results import ResultsStore
from edgeconv.select import Candidate, pareto_front, select
from edgeconv.sweep.runner import Log, Sweep, SweepConfig, copy_selected
from edgeconv.targets import Target

KIND = "families"


def default_baseline(families: list[str]) -> str | None:
    """The first classic baseline among ``families`` (None if all are edge networks)."""
    return next((name for name in families if get_spec(name).group == "baseline"), None)


def family_config(config: SweepConfig, family: str) -> SweepConfig:
    """``config`` for one family: its own widths where the family has a fixed set (ShuffleNetV2: those inside
    the requested range, else all of them); resolutions it cannot take are refused."""
    spec = get_spec(family)
    too_small = [r for r in config.resolutions if r < spec.min_resolution]
    if too_small:
        raise UsageError(
            f"{family} needs inputs of at least {spec.min_resolution} px; --resolutions has {too_small[0]}"
        )
    widths = config.widths
    if spec.widths:
        inside = [w for w in spec.widths if min(widths) <= w <= max(widths)]
        widths = inside or list(spec.widths)
    return replace(config, model=family, widths=widths)


def check_families(config: SweepConfig, families: list[str], baseline: str | None) -> str | None:
    """Validate a cross-family sweep before anything runs; returns the baseline (given or default)."""
    if config.weights:
        raise UsageError("--weights holds one family's weights: sweep that family alone (one --model)")
    if baseline is not None and baseline not in families:
        raise UsageError(f"--baseline {baseline} is not one of the swept models ({', '.join(families)})")
    for family in families:
        family_config(config, family)
    return baseline or default_baseline(families)


def run_families(
    config: SweepConfig,
    families: list[str],
    baseline: str | None,
    out_dir: Path,
    store: ResultsStore,
    target: Target,
    log: Log,
) -> dict[str, Any]:
    """Sweep every family on ``target``, then select across them; writes and returns ``OUT/families.json``."""
    baseline = check_families(config, families, baseline)
    entries: list[dict[str, Any]] = []
    found: list[Candidate] = []
    device: dict[str, Any] = {}
    for index, family in enumerate(families, start=1):
        log(f"family {family} ({index} of {len(families)})")
        sweep = Sweep(family_config(config, family), out_dir / family, store, target, log)
        summary = sweep.run()
        device = summary["device"]
        family_candidates = [Candidate(**c) for c in summary["selection"]["candidates"]]
        found += family_candidates
        fits = any(s["best_width"] is not None for s in summary["searches"])
        entries.append(
            {
                "family": family,
                "group": get_spec(family).group,
                "baseline": family == baseline,
                "out": str((out_dir / family).resolve()),
                "fits": fits,
                "chosen": summary["selection"]["chosen"],
                "candidates": len(family_candidates),
                "efficiency": summary["efficiency"],
            }
        )
        if not fits:
            fastest = summary["efficiency"]["fastest"]
            log(
                f"family {family}: over budget even at width {fastest['width']:g} "
                f"({fastest['latency_ms']:.3f} ms); not trained"
            )
    selection = select(found, config.budget_ms, config.stat)
    copy_selected(selection, out_dir)
    summary = {
        "kind": KIND,
        "out_dir": str(out_dir.resolve()),
        "device_id": target.device_id,
        "target": target.name,
        "config": {**config.to_dict(), "model": ",".join(families), "models": families},
        "baseline": baseline,
        "families": entries,
        "selection": selection.to_dict(),
        "pareto": [c.to_dict() for c in pareto_front(found, config.stat)],
        "device": device or {"device_id": target.device_id},
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(out_dir / "families.json", summary)
    store.add_sweep(summary)
    return summary
