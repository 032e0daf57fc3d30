"""What a measurement is asked to do, typed once for every target: the thread count, the warm-up and run
settings, the device conditions, a memory limit and the runtimes' own settings. ``to_argv`` writes them as
``edgeconv bench`` options, from the flags the settings declare (``BenchSettings`` field metadata, the format
specs' ``BackendOption``), so that a board's edgeconv is asked exactly what the local one would be."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from edgeconv.errors import UsageError
from edgeconv.runtime.bench import BenchSettings


def _runtime_settings() -> dict[str, Any]:
    """Every runtime setting the format specs declare, by name."""
    from edgeconv.runtime.formats import all_formats

    return {option.name: option for spec in all_formats() for option in spec.backend_options}


@dataclass(frozen=True)
class MeasureOptions:
    """One measurement's options. ``threads`` None: the device's cores; ``runtime``: a format's own settings
    (``spinning``, ``precision_hint``), where None or absent means the runtime's default."""

    threads: int | None = 1
    settings: BenchSettings = field(default_factory=BenchSettings)
    cooldown: float = 0.0
    max_temp: float | None = None
    max_rss: float | None = None
    runtime: Mapping[str, Any] = field(default_factory=dict)
    profile: bool = False  # also profile per op with the runtime's own profiler (as many runs as ``settings.runs``)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.runtime) - set(_runtime_settings()))
        if unknown:
            raise UsageError(f"unknown runtime setting {', '.join(unknown)}")

    def conditions(self) -> list[str]:
        """The options beyond threads and settings that were given (a native benchmark tool honours none)."""
        given = [name for name in ("max_temp", "max_rss") if getattr(self, name) is not None]
        given += ["cooldown"] if self.cooldown else []
        return given + [name for name, value in self.runtime.items() if value is not None]

    def bench_keywords(self) -> dict[str, Any]:
        """The keyword arguments of :func:`edgeconv.runtime.bench.bench` in this process."""
        runtime = {name: value for name, value in self.runtime.items() if value is not None}
        return {
            "threads": self.threads,
            "settings": self.settings,
            "cooldown_s": self.cooldown,
            "max_temp_c": self.max_temp,
            "max_rss_mb": self.max_rss,
            "profile_runs": self.settings.runs if self.profile else 0,
            **runtime,
        }

    def to_argv(self) -> list[str]:
        """The ``edgeconv bench`` options for this measurement (everything but the file)."""
        args = ["--threads", str(self.threads)] if self.threads is not None else []
        for setting in fields(BenchSettings):
            args += [setting.metadata["flag"], str(getattr(self.settings, setting.name))]
        args += ["--cooldown", str(self.cooldown)] if self.cooldown else []
        args += ["--max-temp", str(self.max_temp)] if self.max_temp is not None else []
        args += ["--max-rss", str(self.max_rss)] if self.max_rss is not None else []
        args += ["--profile"] if self.profile else []
        declared = _runtime_settings()
        for name, value in self.runtime.items():
            flag = declared[name].flag
            if isinstance(value, bool):
                args.append(flag if value else f"--no-{flag[2:]}")
            elif value is not None:
                args += [flag, str(value)]
        return args
