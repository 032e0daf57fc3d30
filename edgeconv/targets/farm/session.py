"""One connection to a labgrid coordinator per edgeconv process, through labgrid's own client.

labgrid's ``ClientSession`` is asyncio code; its event loop runs here in a thread of its own, so that the
coordinator's place updates keep arriving, the heartbeats of held places keep going while a measurement runs,
and every thread of a fleet can call it (:meth:`FarmSession.call`). Its identity is ``HOST/USER+edgeconv-PID``:
two edgeconv processes of one user are two holders to the coordinator (one may not take a place reserved for
the other), and a later run can tell whether the process that holds a place is still alive (``holders.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from edgeconv.errors import EdgeconvError, require

T = TypeVar("T")
CONNECT_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 30.0
IDENTITY_MARK = "+edgeconv-"


class FarmError(EdgeconvError):
    """The coordinator could not be reached, or refused or could not serve a request."""


class _QuietLabgrid(logging.Filter):
    """labgrid's client logs to the root logger (``coordinator is unavailable``): edgeconv says it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "/labgrid/" not in record.pathname.replace(os.sep, "/")


class FarmSession:
    """A started ``ClientSession`` on its own event loop thread."""

    def __init__(self, address: str) -> None:
        require("labgrid.remote.client", "farm", "a labgrid:// target")
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # grpc's C core otherwise prints its own warnings
        logging.getLogger().addFilter(_QuietLabgrid())
        self.address = address
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="edgeconv-farm", daemon=True)
        self._thread.start()
        self.session: Any = None
        try:
            self.session = self.call(self._start(), CONNECT_TIMEOUT_S, "connecting")
        except BaseException:
            self.loop.call_soon_threadsafe(self.loop.stop)
            raise

    async def _start(self) -> Any:
        from labgrid.remote.client import ClientSession, ServerError
        from labgrid.util.proxy import proxymanager

        class Session(ClientSession):
            def getuser(self) -> str:
                return f"{super().getuser()}{IDENTITY_MARK}{os.getpid()}"

        address = proxymanager.get_grpc_address(self.address, default_port=20408)
        session = Session(address, asyncio.get_running_loop())
        try:
            await session.start()
        except ServerError:
            raise FarmError(f"cannot reach the labgrid coordinator at {self.address}") from None
        return session

    @property
    def identity(self) -> str:
        """``HOST/USER+edgeconv-PID``: who holds what this session acquires."""
        return f"{self.session.gethostname()}/{self.session.getuser()}"

    @property
    def hostname(self) -> str:
        return str(self.session.gethostname())

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S, what: str = "asking") -> T:
        """Run ``coroutine`` on the session's loop and wait for it; a gRPC failure is one :class:`FarmError` line."""
        future = asyncio.run_coroutine_threadsafe(self._translated(coroutine, what), self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise FarmError(f"the labgrid coordinator at {self.address} did not answer in {timeout:.0f} s") from None

    async def _translated(self, coroutine: Coroutine[Any, Any, T], what: str) -> T:
        import grpc

        try:
            return await coroutine
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise FarmError(f"lost the labgrid coordinator at {self.address} while {what}") from None
            raise FarmError(f"the labgrid coordinator refused {what}: {exc.details()}") from None

    def rpc(self, method: str, what: str, **request: Any) -> Any:
        """The coordinator's ``method`` RPC (``AcquirePlace``, ``CreateReservation``, ...) with ``request``."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        async def send() -> Any:  # the call object must be made on the loop's thread
            message = getattr(pb2, f"{method}Request")(**request)
            return await getattr(self.session.stub, method)(message, timeout=CALL_TIMEOUT_S)

        return self.call(send(), what=what)

    def snapshot(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The places (name -> labgrid ``Place``) and resources (exporter -> group -> name -> entry) the
        coordinator has sent, read on the loop after a sync, so that they include every earlier change."""

        async def read() -> tuple[dict[str, Any], dict[str, Any]]:
            if not await self.session.sync_with_coordinator():
                raise FarmError(f"lost the labgrid coordinator at {self.address}")
            resources = self.session.resources
            return dict(self.session.places), {e: {g: dict(r) for g, r in gs.items()} for e, gs in resources.items()}

        return self.call(read(), what="reading the places")

    def reservations(self) -> list[Any]:
        """Every reservation the coordinator holds (protobuf messages: owner, token, state, prio, filters)."""
        return list(self.rpc("GetReservations", "listing the reservations").reservations)

    def close(self) -> None:
        """Stop the stream and the loop (what this session held must be released before)."""
        if self.session is not None:
            with contextlib.suppress(EdgeconvError):
                self.call(self._stop(), 5.0, "closing")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)

    async def _stop(self) -> None:
        await self.session.stop()
        await self.session.close()


_sessions: dict[str, FarmSession] = {}
_lock = threading.Lock()


def session_for(address: str) -> FarmSession:
    """This process's session with the coordinator at ``address`` (started on first use)."""
    with _lock:
        if address not in _sessions:
            _sessions[address] = FarmSession(address)
        return _sessions[address]


def close_sessions() -> None:
    """Close every session (after their holds were released)."""
    with _lock:
        for session in _sessions.values():
            session.close()
        _sessions.clear()
