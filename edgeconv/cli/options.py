"""Options that several commands take, each declared once: the measurement settings derived from
:class:`~edgeconv.runtime.bench.BenchSettings`, the device conditions, the thread count and the latency
statistic. A command takes the group's options as keyword arguments and rebuilds the settings object with
the matching ``*_from`` function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
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
