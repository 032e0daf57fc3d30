"""What a sweep searches, validated once where it is parsed: its settings, and the lanes they expand to.

A lane is one (family, format, precision). ``plan_sweep`` checks every lane before anything runs (widths a
family is defined at, resolutions it takes, int8 schemes its format offers, the baseline) and gives each its
own settings; the runner trusts the plan.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from edgeconv.errors import UsageError
from edgeconv.models.published import choose_weights, is_published_name, weights_for
from edgeconv.models.registry import get_spec
from edgeconv.plan import plan_exports
from edgeconv.runtime.bench import BenchSettings
from edgeconv.runtime.formats import get_format
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.train.config import TrainConfig


@dataclass(frozen=True)
class SweepConfig:
    """What to search and how to build, train, export and measure each candidate. ``model``, ``format`` and
    ``precision`` may hold comma-separated lists (one lane per combination) until :func:`plan_sweep`."""

    model: str
    budget_ms: float
    widths: list[float]
    resolutions: list[int]
    stat: str = "p90"
    format: str = "tflite"
    precision: str = "int8"
    int8_scheme: str = "auto"  # one of the format's int8 schemes, or auto: the fast one for the target's CPU
    threads: int = 1
    data: str = "digits"
    load: str = "auto"  # image folders in memory or streamed (edgeconv.data.load_data)
    device: str = "auto"  # where finalists train (edgeconv.train.devices)
    workers: int | None = None  # loader processes (None: by the data)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=10))
    weights: str | None = None
    distil: bool = False
    remeasure: bool = False
    max_drop: float = 1.0
    calib_size: int = 300
    bench: BenchSettings = field(default_factory=BenchSettings)
    cooldown_s: float = 0.0  # idle before each measurement
    max_temp_c: float | None = None  # wait until the device is this cool; flag results that end hotter
    profile: bool = False  # profile each trained candidate per op (one of its measurements, as bench --profile)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def measure_options(self) -> MeasureOptions:
        """How each of the sweep's measurements is taken."""
        return MeasureOptions(self.threads, self.bench, self.cooldown_s, self.max_temp_c)


@dataclass(frozen=True)
class Lane:
    """One family in one format at one precision, with its own settings."""

    family: str
    format: str
    precision: str
    config: SweepConfig

    def path(self, families_vary: bool, runtimes_vary: bool) -> Path:
        """Its directory under the sweep's ``--out``, naming only what varies across the lanes."""
        parts = ([self.family] if families_vary else []) + (
            [f"{self.format}-{self.precision}"] if runtimes_vary else []
        )
        return Path(*parts)


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep: the settings, one lane per combination, the baseline family, notes on skipped pairs."""

    config: SweepConfig
    lanes: list[Lane]
    baseline: str | None
    notes: list[str]

    @property
    def families(self) -> list[str]:
        return list(dict.fromkeys(lane.family for lane in self.lanes))

    @property
    def families_vary(self) -> bool:
        return len(self.families) > 1

    @property
    def runtimes_vary(self) -> bool:
        return len({(lane.format, lane.precision) for lane in self.lanes}) > 1

    def lane_dir(self, out_dir: Path, lane: Lane) -> Path:
        return out_dir / lane.path(self.families_vary, self.runtimes_vary)

    def train_dir(self, out_dir: Path, lane: Lane) -> Path:
        """Where a family's finalists are trained: shared by its lanes, so that each width is trained once."""
        return out_dir / (lane.family if self.families_vary else "") / "candidates"


def default_baseline(families: list[str]) -> str | None:
    """The first classic baseline among ``families`` (None if all are edge networks)."""
    return next((name for name in families if get_spec(name).group == "baseline"), None)


def lane_config(config: SweepConfig, family: str, fmt: str, precision: str) -> SweepConfig:
    """``config`` for one lane: its family's own widths where the family has a fixed set (ShuffleNetV2: those
    inside the requested range, else all of them); resolutions the family cannot take are refused."""
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
    weights = weights_for(config.weights, family)
    if config.weights and weights is None:
        raise UsageError(f"--weights names no source for {family}: add {family}=SOURCE")
    if weights and is_published_name(weights):  # every width must have weights to start from
        for width in widths:
            choose_weights(weights, family, width, spec.weights)
    if precision == "int8" and config.int8_scheme != "auto":
        get_format(fmt).int8_scheme(config.int8_scheme, "generic")  # an explicit scheme must exist
    return replace(config, model=family, format=fmt, precision=precision, widths=widths)


def plan_sweep(config: SweepConfig, baseline: str | None = None) -> SweepPlan:
    """Every lane of ``config`` checked, with its settings; raises :class:`UsageError` on the first problem."""
    families, formats, precisions = config.model.split(","), config.format.split(","), config.precision.split(",")
    if len(formats) == len(precisions) == 1:  # one pair asked for: say why that format cannot make it
        get_format(formats[0]).check_precision(precisions[0])
    pairs, notes = plan_exports(formats, precisions)
    if config.weights and len(families) > 1 and "=" not in config.weights and not is_published_name(config.weights):
        raise UsageError(
            "a --weights file holds one family's weights: sweep that family alone, or name published "
            "weights (--weights imagenet) to start every family from its own"
        )
    if baseline is not None and baseline not in families:
        raise UsageError(f"--baseline {baseline} is not one of the swept models ({', '.join(families)})")
    if baseline is not None and len(families) == 1:
        raise UsageError("--baseline marks one of several models: give more than one --model")
    lanes = [Lane(f, fmt, p, lane_config(config, f, fmt, p)) for f in families for fmt, p in pairs]
    return SweepPlan(config, lanes, baseline or default_baseline(families), notes)
