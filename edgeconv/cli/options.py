"""Options that several commands take, each declared once: the measurement settings derived from
:class:`~edgeconv.runtime.bench.BenchSettings`, the training settings derived from
:class:`~edgeconv.train.config.TrainConfig`, the device conditions, the thread count and the latency statistic.
A command takes the group's options as keyword arguments and rebuilds the settings object with the matching
``*_from`` function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, fields
from typing import Any, TypeVar

import click

from edgeconv.cli.common import FiniteFloatRange

F = TypeVar("F", bound=Callable[..., Any])


def bench_settings_options(function: F) -> F:
    """One option per :class:`BenchSettings` field (``--warmup``, ``--warmup-seconds``, ``--runs``,
    ``--min-seconds``, ``--max-seconds``), with the field's default, bounds and help."""
    from edgeconv.runtime.bench import BenchSettings

    for setting in reversed(fields(BenchSettings)):
        meta = setting.metadata
        kind: click.ParamType = (
            click.IntRange(min=meta["min"])
            if setting.type in ("int", int)
            else FiniteFloatRange(min=meta["min"], min_open=meta.get("min_open", False))
        )
        default = None if setting.default is MISSING else setting.default
        option = click.option(
            meta["flag"], setting.name, type=kind, default=default, show_default=True, help=meta["help"]
        )
        function = option(function)
    return function


def bench_settings_from(options: dict[str, Any]) -> Any:
    """The :class:`BenchSettings` that :func:`bench_settings_options` parsed, taken out of ``options``."""
    from edgeconv.runtime.bench import BenchSettings

    return BenchSettings(**{setting.name: options.pop(setting.name) for setting in fields(BenchSettings)})


def _field_type(setting: Field[Any]) -> click.ParamType | None:
    """The click type of a settings field from its annotation and metadata bounds (None: a flag)."""
    meta, kind = setting.metadata, str(setting.type)
    if kind == "bool":
        return None
    if "choices" in meta:
        return click.Choice(meta["choices"])
    if kind.startswith("int"):
        return click.IntRange(min=meta["min"]) if "min" in meta else click.INT
    return FiniteFloatRange(
        min=meta.get("min"),
        max=meta.get("max"),
        min_open=meta.get("min_open", False),
        max_open=meta.get("max_open", False),
    )


def train_options(defaults: dict[str, Any] | None = None) -> Callable[[F], F]:
    """One option per :class:`TrainConfig` field (``--epochs``, ``--lr``, ``--augment``, ``--amp/--no-amp``, ...),
    with its bounds and help; ``defaults`` overrides a field's default for one command (the sweep's epochs)."""
    from edgeconv.train.config import TrainConfig

    def decorate(function: F) -> F:
        for setting in reversed(fields(TrainConfig)):
            meta = setting.metadata
            default = (defaults or {}).get(setting.name, setting.default)
            kind = _field_type(setting)
            decls = [meta["flag"], *([meta["short"]] if "short" in meta else []), setting.name]
            extra: dict[str, Any] = {"is_flag": True} if kind is None and "/" not in meta["flag"] else {"type": kind}
            option = click.option(*decls, default=default, show_default=default is not None, help=meta["help"], **extra)
            function = option(function)
        return function

    return decorate


def train_config_from(options: dict[str, Any]) -> Any:
    """The :class:`TrainConfig` that :func:`train_options` parsed, taken out of ``options``."""
    from edgeconv.train.config import TrainConfig

    return TrainConfig(**{setting.name: options.pop(setting.name) for setting in fields(TrainConfig)})


def int8_options(function: F) -> F:
    """``--int8-scheme``, ``--calib-size`` and ``--max-drop``: how int8 files are quantized and gated, the same
    in ``export`` and ``sweep``; the schemes listed are each format's, from the specs."""
    from edgeconv.runtime.formats import all_formats

    function = click.option(
        "--max-drop",
        type=FiniteFloatRange(min=0),
        default=1.0,
        show_default=True,
        help="int8: fail when held-out top-1 drops more than this many points below float (after retrying "
        "with more calibration data, another calibration method, and float first/last layers).",
    )(function)
    function = click.option(
        "--calib-size",
        type=click.IntRange(min=1),
        default=300,
        show_default=True,
        help="Calibration images drawn from the training split.",
    )(function)
    schemes = "; ".join(f"{spec.name}: {', '.join(spec.int8_schemes)}" for spec in all_formats())
    return click.option(
        "--int8-scheme",
        default="auto",
        show_default=True,
        help=f"int8 scheme ({schemes}); auto: the fast one for the target's CPU (its int8 path, as `edgeconv "
        "info` and `edgeconv target check` show it). Recorded in the sidecar; the accuracy gate judges it.",
    )(function)


def conditions_options(function: F) -> F:
    """``--cooldown`` and ``--max-temp``: the device conditions a measurement waits for."""
    function = click.option(
        "--max-temp",
        type=FiniteFloatRange(min=0, min_open=True),
        default=None,
        help="Wait until the device is at most this hot (C) before each measurement; a result that ends hotter "
        "is flagged invalid and never used for selection.",
    )(function)
    return click.option(
        "--cooldown",
        type=FiniteFloatRange(min=0),
        default=0.0,
        show_default=True,
        help="Idle this many seconds before each measurement.",
    )(function)


def threads_option(default: int | None, help_text: str) -> Callable[[F], F]:
    """``--threads/-t``: a whole number of inference threads >= 1."""
    return click.option(
        "--threads", "-t", type=click.IntRange(min=1), default=default, show_default=default is not None, help=help_text
    )


def stat_option(function: F) -> F:
    """``--stat``: the latency statistic a budget applies to, one of :data:`edgeconv.select.STATS`."""
    from edgeconv.select import STATS

    return click.option(
        "--stat",
        type=click.Choice(STATS),
        default="p90",
        show_default=True,
        help="Latency statistic the budget applies to (MLPerf single-stream uses p90).",
    )(function)


def weights_option(function: F) -> F:
    """``--weights``: pretrained weights by name or path, the same in train, sweep and export."""
    return click.option(
        "--weights",
        default=None,
        metavar="imagenet|torchvision:NAME|timm:NAME|PATH",
        help="Start from pretrained weights: 'imagenet' (the family's best published ImageNet-1k file, "
        "downloaded once into the torch hub cache), a named published file (see `edgeconv models --weights`), "
        "or a local file (an edgeconv checkpoint, a torchvision/timm state dict, .safetensors). A narrower "
        "width is derived from the weights' width, keeping each layer's most important channels.",
    )(function)


def compute_options(function: F) -> F:
    """``--device`` and ``--workers``: where a command trains or evaluates PyTorch models and how many processes
    read its images, the same in train, sweep and eval."""
    function = click.option(
        "--workers",
        type=click.IntRange(min=0),
        default=None,
        help="Processes that decode and augment images. [default: 0 for data held in memory, else one per core "
        "beside training, at most 8]",
    )(function)
    return click.option(
        "--device",
        type=click.Choice(["auto", "cpu", "cuda", "mps"]),
        default="auto",
        show_default=True,
        help="Where PyTorch runs: auto takes CUDA, then Apple MPS, then the CPU.",
    )(function)


def load_option(function: F) -> F:
    """``--load``: an image folder held in memory or streamed from disk, the same wherever ``--data`` is read."""
    return click.option(
        "--load",
        type=click.Choice(["auto", "memory", "stream"]),
        default="auto",
        show_default=True,
        help="Image folders: decode into memory once, or stream from disk in the loader's workers (memory bounded "
        "by the batch). auto streams folders whose pixels exceed 1 GiB at the input size.",
    )(function)
