"""What a farm target names, and the farm settings every command shares.

``labgrid://PLACE[/dir]`` is one place; ``labgrid:KEY=VALUE[,KEY=VALUE][/dir]`` is any place whose tags include
all of those (a reservation filter). ``/dir`` is edgeconv's directory on the board, as in ``ssh://``: absolute,
or ``/~/rel`` relative to the login directory (default ``~/.cache/edgeconv``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from edgeconv.errors import UsageError
from edgeconv.targets.ssh import DEFAULT_DIR

PLACE_PREFIX, FILTER_PREFIX = "labgrid://", "labgrid:"
DEFAULT_PORT = 20408  # labgrid's coordinator port
_TAG_KEY = re.compile(r"[a-z][a-z0-9_]+")  # labgrid's own rule for tag keys (labgrid.remote.common.TAG_KEY)
_PLACE = re.compile(r"[A-Za-z0-9_.+-]+")


@dataclass(frozen=True)
class FarmSpec:
    """A place by name (``filters == {"name": PLACE}``, as labgrid's scheduler matches names) or by tags."""

    filters: dict[str, str]
    directory: str = DEFAULT_DIR
    by_name: bool = False

    @property
    def label(self) -> str:
        where = "" if self.directory == DEFAULT_DIR else self.directory
        where = where if not where or where[0] == "/" else "/~/" + where
        if self.by_name:
            return f"{PLACE_PREFIX}{self.filters['name']}{where}"
        return FILTER_PREFIX + ",".join(f"{k}={v}" for k, v in self.filters.items()) + where

    @property
    def wanted(self) -> str:
        """The place or the filter, for messages."""
        if self.by_name:
            return f"place {self.filters['name']}"
        return "a board matching " + ",".join(f"{k}={v}" for k, v in self.filters.items())

    def pinned(self, place: str) -> FarmSpec:
        """The same board directory on one place (after a filter was allocated one)."""
        return FarmSpec({"name": place}, self.directory, by_name=True)


def is_farm(spec: str) -> bool:
    return spec.startswith(FILTER_PREFIX)


def parse_farm(spec: str) -> FarmSpec:
    """Parse ``labgrid://PLACE[/dir]`` or ``labgrid:KEY=VALUE[,...][/dir]``."""
    if spec.startswith(PLACE_PREFIX):
        place, slash, path = spec.removeprefix(PLACE_PREFIX).partition("/")
        if not _PLACE.fullmatch(place):
            raise UsageError(f"{spec!r}: name a place, labgrid://PLACE (see `edgeconv target list`)")
        return FarmSpec({"name": place}, _directory(slash + path), by_name=True)
    body, slash, path = spec.removeprefix(FILTER_PREFIX).partition("/")
    filters: dict[str, str] = {}
    for term in body.split(","):
        key, equals, value = term.partition("=")
        if not equals or not _TAG_KEY.fullmatch(key) or not value:
            raise UsageError(
                f"{spec!r}: a farm filter is labgrid:KEY=VALUE[,KEY=VALUE] with lower-case tag keys "
                "(e.g. labgrid:board=rpi5), or name one place: labgrid://PLACE"
            )
        filters[key] = value
    return FarmSpec(filters, _directory(slash + path), by_name=set(filters) == {"name"})


def _directory(path: str) -> str:
    if not path:
        return DEFAULT_DIR
    return path[3:] if path.startswith("/~/") else path


@dataclass
class FarmSettings:
    """``--coordinator``, ``--priority`` and ``--kick``: set once by the command line, read by every farm target
    of the process (and passed on to the sweeps a fleet starts)."""

    coordinator: str | None = None
    priority: int = 0
    kick: bool = False

    def address(self) -> str:
        """The coordinator as HOST:PORT: ``--coordinator``, else ``$LG_COORDINATOR``, else ``[farm] coordinator``
        in targets.toml, else labgrid's default."""
        found = self.configured() or f"127.0.0.1:{DEFAULT_PORT}"
        host, colon, port = found.rpartition(":")
        if not colon or not port.isdigit():
            return f"{found}:{DEFAULT_PORT}"
        if not 0 < int(port) < 65536:
            raise UsageError(f"coordinator {found!r}: the port must be a number from 1 to 65535")
        return f"{host}:{port}"

    def configured(self) -> str | None:
        """The coordinator the user named, if any."""
        from edgeconv.targets.fleet import targets_table

        named = self.coordinator or os.environ.get("LG_COORDINATOR") or targets_table("farm").get("coordinator")
        return str(named) if named else None

    def argv(self) -> list[str]:
        """These settings as command-line options (for a child ``edgeconv sweep``)."""
        args = ["--coordinator", self.coordinator] if self.coordinator else []
        args += ["--priority", str(self.priority)] if self.priority else []
        return args + (["--kick"] if self.kick else [])


settings = FarmSettings()
