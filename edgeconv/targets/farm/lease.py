"""Holding one place of the farm while edgeconv uses its board, through the coordinator's reservation queue.

``Lease.use()`` reserves (labgrid's queue: FIFO within a priority), waits for the allocation with a line that
says what it waits for, acquires, and yields the board's SSH address. Between uses the place stays held, so a
sweep's measurements do not queue again one by one, until someone else waits for it or it has been idle for
:data:`IDLE_RELEASE_S` (a sweep training its next width frees the board). Every exit path releases the place
and cancels the reservation: :func:`release_all` runs when the command ends, on an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from edgeconv.errors import EdgeconvError
from edgeconv.targets.farm.holders import HEARTBEAT_S, STALE_S, Holder, Watch
from edgeconv.targets.farm.places import ACQUIRED, ALLOCATED, WAITING, check_exists, network_service, place_tags
from edgeconv.targets.farm.session import FarmError, FarmSession, close_sessions
from edgeconv.targets.farm.spec import FarmSpec

POLL_S = 0.25
IDLE_RELEASE_S = 60.0
Log = Callable[[str], None]


class Lease:
    """One board of the farm: the place ``spec`` names, or the first one its filter is allocated (kept for the
    rest of the process, so that every measurement of a command is of one board)."""

    def __init__(self, session: FarmSession, spec: FarmSpec, priority: int, kick: bool, log: Log) -> None:
        self.session, self.spec, self.priority, self.kick, self.log = session, spec, priority, kick, log
        self.place: str | None = spec.filters["name"] if spec.by_name else None
        self.tags: dict[str, str] = {}
        self.service: dict[str, Any] = {}
        self.token: str | None = None
        self.held = False
        self._busy = 0
        self._idle_since = time.monotonic()
        self._last_beat = 0.0
        self._lock = threading.RLock()
        _register(self)

    @contextlib.contextmanager
    def use(self) -> Iterator[dict[str, Any]]:
        """Hold the place for the block; yields its ``NetworkService`` arguments (address, username, port)."""
        with self._lock:
            self._busy += 1
            try:
                if not self.held:
                    self._take()
            except BaseException:
                self._busy -= 1
                raise
        try:
            yield self.service
        finally:
            with self._lock:
                self._busy -= 1
                self._idle_since = time.monotonic()

    # -- taking a place -----------------------------------------------------------------------------------------
    def _take(self) -> None:
        wanted = self.spec.pinned(self.place) if self.place else self.spec
        places, resources = self.session.snapshot()
        names = check_exists(wanted, places)
        if wanted.by_name:  # a named place that cannot serve is one line before joining any queue
            network_service(names[0], places[names[0]], resources)
        reply = self.session.rpc(
            "CreateReservation",
            f"reserving {wanted.wanted}",
            filters={"main": {"filter": wanted.filters}},
            prio=float(self.priority),
        )
        self.token = reply.reservation.token
        try:
            place = self._wait(wanted, reply.reservation.created)
            places, resources = self.session.snapshot()
            service = network_service(place, places[place], resources)
            self.session.rpc("AcquirePlace", f"acquiring place {place}", placename=place)
            self.held, self.place, self.tags, self.service = True, place, dict(places[place].tags), service
            self._last_beat = time.monotonic()
        except BaseException:
            self._cancel()
            raise

    def _wait(self, wanted: FarmSpec, created: float) -> str:
        """Poll the reservation until a place is allocated to it; returns the place."""
        watch, said = Watch(), ""
        while True:
            polled = self.session.rpc("PollReservation", "waiting for the reservation", token=self.token)
            reservation = polled.reservation
            if reservation.state in (ALLOCATED, ACQUIRED):
                return str(reservation.allocations["main"])
            if reservation.state != WAITING:
                raise FarmError(f"the labgrid coordinator dropped the reservation for {wanted.wanted}")
            line = self._queue_line(wanted, created, watch)
            if line != said:
                self.log(line)
                said = line
            time.sleep(POLL_S)

    def _queue_line(self, wanted: FarmSpec, created: float, watch: Watch) -> str:
        """What the wait is for: reservations ahead in the queue, and who holds the places; a dead edgeconv
        holder is released with ``--kick`` or reported in one line."""
        places, _ = self.session.snapshot()
        mine = check_exists(wanted, places)
        held = []
        for name in mine:
            holder = places[name].acquired
            if not holder:
                continue
            if self._dead(name, Holder(holder), places[name].changed, watch):
                continue
            held.append(f"{name} held by {holder}")
        ahead = 0
        for other in self.session.reservations():
            if other.token == self.token or other.state != WAITING or "main" not in other.filters:
                continue
            wants = set(other.filters["main"].filter.items())
            if any(wants <= place_tags(n, places[n]) for n in mine) and (-other.prio, other.created) < (
                -self.priority,
                created,
            ):
                ahead += 1
        return f"waiting for {wanted.wanted} ({ahead} ahead{'; ' if held else ''}{'; '.join(held)})"

    def _dead(self, name: str, holder: Holder, changed: float, watch: Watch) -> bool:
        """Whether ``holder`` of place ``name`` is a dead edgeconv, released here with ``--kick`` (True), else
        reported as one line; False for a live or a foreign holder."""
        if holder.edgeconv_pid is None:
            return False
        if holder.dead_on(self.session.hostname):
            why = f"process {holder.edgeconv_pid} no longer runs on {holder.host}"
        elif watch.silent_for(name, holder.identity, changed) > STALE_S:
            why = f"no sign of life for {STALE_S:.0f} s"
        else:
            return False
        if not self.kick:
            raise FarmError(
                f"place {name} is held by {holder.identity}, an edgeconv that is gone ({why}): run again with "
                f"--kick to release it (or `labgrid-client -p {name} release --kick`)"
            )
        for other in self.session.reservations():  # its reservation first, as in release()
            if other.owner == holder.identity:
                self.session.rpc("CancelReservation", "cancelling a dead holder's reservation", token=other.token)
        self.session.rpc("ReleasePlace", f"releasing place {name}", placename=name, fromuser=holder.identity)
        self.log(f"released place {name} from {holder.identity} ({why})")
        return True

    # -- giving it back -----------------------------------------------------------------------------------------
    def release(self) -> None:
        """Release the place and cancel the reservation (nothing happens when neither is held)."""
        with self._lock:
            # The reservation first: the coordinator frees a place for the next in the queue only when it is
            # neither acquired nor reserved at the start of a scheduling run, and each of these two requests
            # starts one. Released first, the place would still be reserved for us in the run the cancel starts,
            # and the next user would wait for the coordinator's own run (up to 15 s).
            self._cancel()
            if self.held and self.place:
                self.held = False
                with contextlib.suppress(EdgeconvError):
                    self.session.rpc("ReleasePlace", f"releasing place {self.place}", placename=self.place)

    def _cancel(self) -> None:
        token, self.token = self.token, None
        if token:
            with contextlib.suppress(EdgeconvError):
                self.session.rpc("CancelReservation", "cancelling the reservation", token=token)

    def tend(self) -> None:
        """Called about once a second: a sign of life while held; the place given back when it is idle and
        wanted by someone else, or idle for long."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if not self.held or not self.place:
                return
            now = time.monotonic()
            if self._busy == 0 and (now - self._idle_since > IDLE_RELEASE_S or self._wanted()):
                self.release()
                return
            if now - self._last_beat >= HEARTBEAT_S:
                identity = self.session.identity
                self.session.rpc("AllowPlace", "showing a sign of life", placename=self.place, user=identity)
                self._last_beat = now
        except EdgeconvError:
            pass  # a coordinator that is gone for a moment: the next measurement says so
        finally:
            self._lock.release()

    def _wanted(self) -> bool:
        places, _ = self.session.snapshot()
        tags = place_tags(str(self.place), places[str(self.place)]) if self.place in places else set()
        return any(
            r.state == WAITING and "main" in r.filters and set(r.filters["main"].filter.items()) <= tags
            for r in self.session.reservations()
            if r.token != self.token
        )


_leases: list[Lease] = []
_keeper: threading.Thread | None = None
_registry_lock = threading.Lock()


def _register(lease: Lease) -> None:
    global _keeper
    with _registry_lock:
        _leases.append(lease)
        if _keeper is None:
            _keeper = threading.Thread(target=_keep, name="edgeconv-farm-keeper", daemon=True)
            _keeper.start()
            atexit.register(release_all)
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, _terminated)


def _keep() -> None:
    while True:
        time.sleep(1.0)
        with _registry_lock:
            leases = list(_leases)
        for lease in leases:
            lease.tend()


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # so that the command's own clean-up (and release_all) runs


def release_all() -> None:
    """Give back every place this process holds and cancel its reservations, then close the sessions."""
    with _registry_lock:
        leases = list(_leases)
        _leases.clear()
    for lease in leases:
        lease.release()
    close_sessions()
