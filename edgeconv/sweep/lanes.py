"""A sweep over several lanes: model families, formats and precisions, each searched on the same target.

A lane is one (family, format, precision). Each gets its own latency search and latency model on the target
(``OUT/[<family>/][<format>-<precision>/]``, a complete sweep of its own; a lane whose narrowest width is over
budget is reported with its fastest measured latency and never trained). The lanes of one family share its
trained checkpoints (``OUT/[<family>/]candidates``): a width is trained once, then exported to every format
and precision. Then one selection and one Pareto front across every lane, each lane's measured milliseconds
per GMAC and per million parameters, which lane is fastest at each width, and where int8 is slower than fp32
in the same format. ``OUT/lanes.json`` holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeconv.atomic import write_json
from edgeconv.errors import UsageError
from edgeconv.fastest import fastest_per_width, int8_vs_fp32
from edgeconv.models.registry import get_spec
from edgeconv.results import ResultsStore
from edgeconv.runtime.formats import PRECISIONS, get_format, list_formats
from edgeconv.select import Candidate, pareto_front, select
from edgeconv.sweep.runner import Log, Sweep, SweepConfig, copy_selected
from edgeconv.targets import Target

KIND = "lanes"


@dataclass(frozen=True)
class Lane:
    """One family in one format at one precision."""

    family: str
    format: str
    precision: str

    def path(self, families_vary: bool, runtimes_vary: bool) -> Path:
        """Its directory under the sweep's ``--out``, naming only what varies across the lanes."""
        parts = ([self.family] if families_vary else []) + (
            [f"{self.format}-{self.precision}"] if runtimes_vary else []
        )
        return Path(*parts)


def parse_formats(text: str) -> list[str]:
    """``tflite,onnx`` or ``all`` -> checked format names."""
    names = list_formats() if text.strip() == "all" else [f.strip() for f in text.split(",") if f.strip()]
    if not names:
        raise UsageError("--format names no format")
    return [get_format(name).name for name in dict.fromkeys(names)]


def parse_precisions(text: str) -> list[str]:
    """``fp32,int8`` or ``all`` -> checked precisions."""
    names = list(PRECISIONS) if text.strip() == "all" else [p.strip() for p in text.split(",") if p.strip()]
    for name in names:
        if name not in PRECISIONS:
            raise UsageError(f"unknown precision {name!r} (precisions: {', '.join(PRECISIONS)}, or all)")
    if not names:
        raise UsageError("--precision names no precision")
    return list(dict.fromkeys(names))


def plan_lanes(families: list[str], formats: list[str], precisions: list[str]) -> tuple[list[Lane], list[str]]:
    """Every (family, format, precision) a format can produce, and a note per pair it cannot."""
    lanes = [
        Lane(family, fmt, precision)
        for family in families
        for fmt in formats
        for precision in precisions
        if precision in get_format(fmt).precisions
    ]
    notes = [
        f"{fmt} does not produce {precision}; skipped"
        for fmt in formats
        for precision in precisions
        if precision not in get_format(fmt).precisions
    ]
    if not lanes:
        raise UsageError(f"none of the formats {', '.join(formats)} produces {', '.join(precisions)}")
    return lanes, notes


def default_baseline(families: list[str]) -> str | None:
    """The first classic baseline among ``families`` (None if all are edge networks)."""
    return next((name for name in families if get_spec(name).group == "baseline"), None)


def lane_config(config: SweepConfig, lane: Lane) -> SweepConfig:
    """``config`` for one lane: its family's own widths where the family has a fixed set (ShuffleNetV2: those
    inside the requested range, else all of them); resolutions the family cannot take are refused."""
    spec = get_spec(lane.family)
    too_small = [r for r in config.resolutions if r < spec.min_resolution]
    if too_small:
        raise UsageError(
            f"{lane.family} needs inputs of at least {spec.min_resolution} px; --resolutions has {too_small[0]}"
        )
    widths = config.widths
    if spec.widths:
        inside = [w for w in spec.widths if min(widths) <= w <= max(widths)]
        widths = inside or list(spec.widths)
    if lane.precision == "int8" and config.int8_scheme != "auto":
        get_format(lane.format).int8_scheme(config.int8_scheme, "generic")  # an explicit scheme must exist
    return replace(config, model=lane.family, format=lane.format, precision=lane.precision, widths=widths)


def check_lanes(config: SweepConfig, lanes: list[Lane], baseline: str | None) -> str | None:
    """Validate a multi-lane sweep before anything runs; returns the baseline (given or default)."""
    families = list(dict.fromkeys(lane.family for lane in lanes))
    if config.weights and len(families) > 1:
        raise UsageError("--weights holds one family's weights: sweep that family alone (one --model)")
    if baseline is not None and baseline not in families:
        raise UsageError(f"--baseline {baseline} is not one of the swept models ({', '.join(families)})")
    if baseline is not None and len(families) == 1:
        raise UsageError("--baseline marks one of several models: give more than one --model")
    for lane in lanes:
        lane_config(config, lane)
    return baseline or default_baseline(families)


def run_lanes(
    config: SweepConfig,
    lanes: list[Lane],
    baseline: str | None,
    out_dir: Path,
    store: ResultsStore,
    target: Target,
    log: Log,
) -> dict[str, Any]:
    """Sweep every lane on ``target``, then select across them; writes and returns ``OUT/lanes.json``."""
    baseline = check_lanes(config, lanes, baseline)
    families_vary = len({lane.family for lane in lanes}) > 1
    runtimes_vary = len({(lane.format, lane.precision) for lane in lanes}) > 1
    entries: list[dict[str, Any]] = []
    found: list[Candidate] = []
    device: dict[str, Any] = {}
    for index, lane in enumerate(lanes, start=1):
        name = lane.path(families_vary, runtimes_vary).as_posix()
        log(f"lane {name} ({index} of {len(lanes)})")
        lane_dir = out_dir / lane.path(families_vary, runtimes_vary)
        train_dir = out_dir / (lane.family if families_vary else "") / "candidates"
        sweep = Sweep(lane_config(config, lane), lane_dir, store, target, log, train_dir=train_dir)
        summary = sweep.run()
        device = summary["device"]
        lane_candidates = [Candidate(**c) for c in summary["selection"]["candidates"]]
        found += lane_candidates
        fits = any(s["best_width"] is not None for s in summary["searches"])
        entries.append(
            {
                "lane": name,
                "family": lane.family,
                "format": lane.format,
                "precision": lane.precision,
                "int8_scheme": sweep.int8_scheme if lane.precision == "int8" else None,
                "group": get_spec(lane.family).group,
                "baseline": lane.family == baseline,
                "out": str(lane_dir.resolve()),
                "fits": fits,
                "chosen": summary["selection"]["chosen"],
                "candidates": len(lane_candidates),
                "efficiency": summary["efficiency"],
                "probes": summary["probes"],
                "model_curve": summary["model_curve"],
            }
        )
        if not fits:
            fastest = summary["efficiency"]["fastest"]
            log(
                f"lane {name}: over budget even at width {fastest['width']:g} "
                f"({fastest['latency_ms']:.3f} ms); not trained"
            )
    selection = select(found, config.budget_ms, config.stat)
    copy_selected(selection, out_dir)
    families = list(dict.fromkeys(lane.family for lane in lanes))
    summary = {
        "kind": KIND,
        "out_dir": str(out_dir.resolve()),
        "device_id": target.device_id,
        "target": target.name,
        "config": {**config.to_dict(), "model": ",".join(families), "models": families},
        "baseline": baseline,
        "lanes": entries,
        "fastest_per_width": fastest_per_width(entries),
        "int8_vs_fp32": int8_vs_fp32(entries),
        "selection": selection.to_dict(),
        "pareto": [c.to_dict() for c in pareto_front(found, config.stat)],
        "device": device or {"device_id": target.device_id},
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(out_dir / "lanes.json", summary)
    store.add_sweep(summary)
    return summary
