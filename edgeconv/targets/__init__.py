"""Where latency is measured: ``local`` (this machine, in a fresh process) or a board over SSH
(``ssh://[user@]host[:port][/dir]`` or an alias from the user's ssh_config). Every target measures an artifact
on its device and returns the BenchResult with that device's fingerprint."""

from __future__ import annotations

from edgeconv.targets.base import Target
from edgeconv.targets.local import LocalTarget
from edgeconv.targets.remote import SshTarget
from edgeconv.targets.ssh import ConnectionLost, SshError, parse_ssh


def get_target(spec: str, accept_new_host_key: bool = False) -> Target:
    """The target ``spec`` names: ``local``, ``ssh://...`` or an ssh_config alias."""
    if spec == "local":
        return LocalTarget()
    return SshTarget(parse_ssh(spec), accept_new_host_key)


__all__ = ["ConnectionLost", "LocalTarget", "SshError", "SshTarget", "Target", "get_target"]
