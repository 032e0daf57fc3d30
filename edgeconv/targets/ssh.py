"""The SSH transport: the system OpenSSH client as a subprocess, so that the user's ssh_config, agent, keys,
ProxyJump and known_hosts apply exactly as for ``ssh HOST``. edgeconv stores no secret.

Every call shares one connection (ControlMaster, kept 60 s), never prompts (BatchMode), and has separate
connect and run timeouts. ssh exits 255 for its own failures and passes the remote status through otherwise,
so a remote command ends by printing its status as a JSON line; a missing status line means the connection
failed, and ssh's stderr says how.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from edgeconv.errors import EdgeconvError, UsageError
from edgeconv.targets.transport import ConnectionLost, TransportError, check, copy_timeout

STATUS_KEY = "edgeconv_status"
DEFAULT_DIR = ".cache/edgeconv"  # on the device, relative to the login directory
CONNECT_TIMEOUT_S = 10


class SshError(TransportError):
    """The device could not be reached over SSH or refused us."""


@dataclass(frozen=True)
class SshAddress:
    """``ssh://[user@]host[:port][/dir]`` or an ssh_config alias. ``dir`` is edgeconv's directory on the device
    (its venv, its artifact cache); absolute, or relative to the login directory."""

    host: str
    user: str | None = None
    port: int | None = None
    directory: str = DEFAULT_DIR

    @property
    def label(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        where = (
            ""
            if self.directory == DEFAULT_DIR
            else self.directory
            if self.directory[0] == "/"
            else "/~/" + self.directory
        )
        return f"ssh://{user}{self.host}{port}{where}"


def parse_ssh(spec: str) -> SshAddress:
    """Parse ``ssh://[user@]host[:port][/dir]``; a bare name is an ssh_config alias (``pi``)."""
    if "://" not in spec:
        if not re.fullmatch(r"[A-Za-z0-9_.@-]+", spec):
            raise UsageError(f"{spec!r} is not a target: use local, ssh://[user@]host[:port] or an ssh_config alias")
        user, _, host = spec.rpartition("@")
        return SshAddress(host, user or None)
    parts = urlsplit(spec)
    if parts.scheme != "ssh" or not parts.hostname:
        raise UsageError(f"{spec!r} is not a target: use local, ssh://[user@]host[:port] or an ssh_config alias")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"{spec!r}: the port must be a number from 1 to 65535") from None
    directory = parts.path[1:] if parts.path.startswith("/~/") else parts.path or DEFAULT_DIR
    return SshAddress(parts.hostname, parts.username, port, directory.removeprefix("~/"))


def _control_dir() -> Path:
    """Where the shared connections' sockets live: short (a socket path has ~100 bytes), private."""
    path = Path(tempfile.gettempdir()) / f"edgeconv-ssh-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def explain(stderr: str, address: SshAddress) -> tuple[str, bool]:
    """One line for an ssh failure, from what the client printed, and whether a connection was lost (as
    opposed to never made or refused)."""
    host = address.host
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " ".join(lines)
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return (
            f"the host key of {host} has changed since it was recorded in known_hosts; edgeconv refuses it "
            f"(if the device was reinstalled: ssh-keygen -R {host}, then connect once with ssh)"
        ), False
    if "Host key verification failed" in text or "No ED25519 host key is known" in text or "host key is known" in text:
        return (
            f"the host key of {host} is not known: connect once with `ssh {address.label.removeprefix('ssh://')}` "
            "to check and accept it, or pass --accept-new-host-key"
        ), False
    if "Permission denied" in text:
        return (
            f"{host} refused the login ({lines[-1]}); edgeconv logs in with your ssh keys and agent and never "
            f"asks for a password: check that `ssh {host}` works without a prompt"
        ), False
    for marker in ("Could not resolve hostname", "Connection refused", "Connection timed out", "No route to host"):
        if marker in text:
            return f"cannot reach {address.label}: {marker.lower()}", False
    if "timed out" in text.lower():
        return f"cannot reach {address.label}: connection timed out", False
    for marker in ("closed by remote host", "Connection reset", "Broken pipe", "not responding", "Connection closed"):
        if marker in text:
            return f"lost the connection to {address.label} ({lines[-1]})", True
    if not lines:  # a client sharing a connection exits 255 without a word when that connection dies
        return f"lost the connection to {address.label}", True
    return f"ssh to {address.label} failed: {lines[-1]}", True


@dataclass
class Ssh:
    """Commands and copies on one device over SSH (a :class:`~edgeconv.targets.transport.Transport`)."""

    address: SshAddress
    accept_new_host_key: bool = False
    connect_timeout: float = CONNECT_TIMEOUT_S

    @property
    def label(self) -> str:
        return self.address.label

    def _share_key(self) -> str:
        """Connections are shared per target as given and ssh_config used (ssh's own %C is per resolved host:
        two aliases of one host must not share a connection, or the second's host-key check is skipped)."""
        identity = f"{self.address.label}|{os.environ.get('EDGECONV_SSH_CONFIG', '')}|{self.accept_new_host_key}"
        return hashlib.sha256(identity.encode()).hexdigest()[:12]

    def command(self, remote: str) -> list[str]:
        """The ssh command line that runs the shell command ``remote`` on the device."""
        options = {
            "BatchMode": "yes",
            "ConnectTimeout": str(int(self.connect_timeout)),
            "ServerAliveInterval": "5",
            "ServerAliveCountMax": "3",
            "ControlMaster": "auto",
            "ControlPath": str(_control_dir() / f"{self._share_key()}-%C"),
            "ControlPersist": "60",
            "StrictHostKeyChecking": "accept-new" if self.accept_new_host_key else "yes",
            "LogLevel": "ERROR",
        }
        argv = ["ssh"]
        if os.environ.get("EDGECONV_SSH_CONFIG"):
            argv += ["-F", os.environ["EDGECONV_SSH_CONFIG"]]
        for key, value in options.items():
            argv += ["-o", f"{key}={value}"]
        if self.address.port:
            argv += ["-p", str(self.address.port)]
        if self.address.user:
            argv += ["-l", self.address.user]
        return [*argv, self.address.host, "--", "sh -c " + shlex.quote(remote)]

    def run(self, remote: str, what: str, timeout: float, stdin: bytes | None = None) -> tuple[int, str, str]:
        """Run ``remote`` (a POSIX shell command) on the device; returns its exit status, stdout and stderr.
        Raises :class:`SshError` (:class:`ConnectionLost` if the connection broke) with one line saying what
        failed while doing ``what``."""
        wrapped = f'{remote}\nprintf \'\\n{{"{STATUS_KEY}": %d}}\\n\' "$?"'
        try:
            proc = subprocess.run(self.command(wrapped), input=stdin, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise SshError(f"{what} on {self.address.label} did not finish within {timeout:.0f} s") from None
        except FileNotFoundError:
            raise EdgeconvError("ssh targets need the OpenSSH client (the `ssh` command) on this machine") from None
        stdout, stderr = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        body, _, last = stdout.rstrip("\n").rpartition("\n")
        try:
            status = int(json.loads(last)[STATUS_KEY])
        except (ValueError, KeyError, TypeError):
            message, lost = explain(stderr, self.address)
            raise (ConnectionLost if lost else SshError)(f"{what}: {message}") from None
        return status, body, stderr

    def put(self, local: Path, remote: str, what: str) -> None:
        """Copy ``local`` through the shared connection: to ``remote.part``, then renamed."""
        part, final = shlex.quote(remote + ".part"), shlex.quote(remote)
        check(self, f"cat > {part} && mv {part} {final}", what, copy_timeout(local), local.read_bytes())
