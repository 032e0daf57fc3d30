"""Who holds a place, and whether that holder is still alive.

labgrid gives an acquired place no lease: a holder killed with SIGKILL leaves it acquired until someone releases
it. An edgeconv holder says who it is (``HOST/USER+edgeconv-PID``, see ``session.py``) and shows a sign of life
every :data:`HEARTBEAT_S` while it holds a place (it re-allows itself on the place, which moves the place's
``changed`` time). So a waiting edgeconv can tell a dead holder: on its own host, by the process id at once;
elsewhere, when the place has shown no sign of life for :data:`STALE_S` of the waiter's own watching (clocks of
two hosts are never compared). A holder that is not edgeconv (a person with ``labgrid-client``) is waited for.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgeconv.targets.farm.session import IDENTITY_MARK

HEARTBEAT_S = 15.0
STALE_S = 4 * HEARTBEAT_S
_EDGECONV = re.compile(rf"(?P<host>[^/]+)/(?P<user>.+){re.escape(IDENTITY_MARK)}(?P<pid>\d+)")


@dataclass(frozen=True)
class Holder:
    """The identity an acquired place records."""

    identity: str

    @property
    def edgeconv_pid(self) -> int | None:
        found = _EDGECONV.fullmatch(self.identity)
        return int(found["pid"]) if found else None

    @property
    def host(self) -> str:
        return self.identity.partition("/")[0]

    def dead_on(self, hostname: str) -> bool:
        """True when this is an edgeconv process of ``hostname`` (this host) that no longer runs."""
        pid = self.edgeconv_pid
        return pid is not None and self.host == hostname and not _edgeconv_running(pid)


def _edgeconv_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"edgeconv" in cmdline.read_bytes()  # the id may have been reused by another program
    except OSError:
        return True  # no /proc (macOS): a live process with that id


@dataclass
class Watch:
    """Signs of life of the places a waiter has seen held, by the waiter's own clock."""

    seen: dict[str, tuple[str, float, float]] = field(default_factory=dict)  # place -> (holder, changed, since)

    def silent_for(self, place: str, holder: str, changed: float, now: float | None = None) -> float:
        """Seconds the place has been held by ``holder`` without a sign of life, as far as this watch saw."""
        now = time.monotonic() if now is None else now
        last = self.seen.get(place)
        if last is None or last[0] != holder or last[1] != changed:
            self.seen[place] = (holder, changed, now)
            return 0.0
        return now - last[2]
