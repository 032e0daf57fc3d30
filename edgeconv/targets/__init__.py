"""Where latency is measured: ``local`` (this machine, in a fresh process), a board over SSH
(``ssh://[user@]host[:port][/dir]`` or an alias from the user's ssh_config), or a phone over adb
(``adb://SERIAL``, measured with LiteRT's native benchmark tool), or a board of a shared labgrid farm
(``labgrid://PLACE``, ``labgrid:KEY=VALUE``: reserved through the coordinator, then measured over SSH). Every
target measures an artifact on its device and returns the BenchResult with that device's fingerprint."""

from __future__ import annotations

from edgeconv.errors import UsageError
from edgeconv.targets.adb import AdbTarget
from edgeconv.targets.base import Board, Target, board
from edgeconv.targets.farm.spec import is_farm, parse_farm
from edgeconv.targets.local import LocalTarget
from edgeconv.targets.remote import SshTarget
from edgeconv.targets.ssh import SshError, parse_ssh
from edgeconv.targets.transport import ConnectionLost, TransportError


def get_target(spec: str, accept_new_host_key: bool = False) -> Target:
    """The target ``spec`` names: ``local``, ``ssh://...``, an ssh_config alias, ``adb://SERIAL``, or a place of
    a labgrid farm (``labgrid://PLACE``, ``labgrid:KEY=VALUE``)."""
    if spec == "local":
        return LocalTarget()
    if is_farm(spec):
        from edgeconv.targets.farm.target import LabgridTarget

        return LabgridTarget(parse_farm(spec), accept_new_host_key)
    if spec.startswith("adb://"):
        if not spec.removeprefix("adb://"):
            raise UsageError("an adb target names the device: adb://SERIAL (see `adb devices`)")
        return AdbTarget(spec.removeprefix("adb://"))
    return SshTarget(parse_ssh(spec), accept_new_host_key)


__all__ = [
    "AdbTarget",
    "Board",
    "ConnectionLost",
    "LocalTarget",
    "SshError",
    "SshTarget",
    "Target",
    "TransportError",
    "board",
    "get_target",
]
