"""A real OpenSSH server on 127.0.0.1 with host and user keys made for it, standing in for a board: edgeconv
reaches it with the system ssh client exactly as it reaches a Raspberry Pi. Used by tests/targets and by
benchmarks/remote.py.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
ALIAS = "edgeconv-board"  # every good connection goes through this ssh_config alias


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class Board:
    """The server, and an ssh_config that reaches it as ``edgeconv-board``."""

    root: Path
    port: int
    no_python_port: int  # the same server, but sessions on this port find only sh on their PATH
    ssh_config: Path
    process: subprocess.Popen[bytes] | None = None
    alias: str = ALIAS

    def target(self, directory: Path, host: str = ALIAS) -> str:
        return f"ssh://{host}{directory}"

    def start(self) -> None:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        with open(self.root / "sshd.log", "ab") as log:
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.root / "sshd_config")], stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not start: {(self.root / 'sshd.log').read_text()[-2000:]}")

    def kill_connections(self) -> None:
        """Drop every open connection (the listener and each session's sshd), as a cut cable or a reboot would,
        and listen again."""
        assert self.process is not None
        sessions = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        self.process.kill()
        self.process.wait()
        for pid in sessions.split():  # one sshd per connection, children of the listener
            os.kill(int(pid), signal.SIGKILL)
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def create_board(root: Path) -> Board:
    """Keys, sshd_config and a client ssh_config in ``root``; the server is started. Aliases: ``edgeconv-board``
    (good), ``no-python-board`` (PATH without python3), ``unknown-key-board`` (empty known_hosts),
    ``changed-key-board`` (another key recorded for the host), ``stranger-board`` (a key the server refuses)."""
    root.mkdir(parents=True, exist_ok=True)
    host_key = keygen(root / "host_key")
    (root / "authorized_keys").write_text(keygen(root / "id_ed25519") + "\n")
    keygen(root / "stranger")  # a key the server does not know
    port, no_python_port = free_port(), free_port()
    (root / "bin-without-python").mkdir()
    (root / "bin-without-python" / "sh").symlink_to(shutil.which("sh") or "/bin/sh")
    user = getpass.getuser()
    (root / "sshd_config").write_text(
        f"Port {port}\nPort {no_python_port}\nListenAddress 127.0.0.1\nHostKey {root}/host_key\n"
        f"PidFile {root}/sshd.pid\nAuthorizedKeysFile {root}/authorized_keys\nPubkeyAuthentication yes\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"PermitRootLogin prohibit-password\nAllowUsers {user}\nMaxStartups 50\nMaxSessions 50\n"
        f"Match LocalPort {no_python_port}\n    SetEnv PATH={root}/bin-without-python\n"
    )
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n[127.0.0.1]:{no_python_port} {host_key}\n")
    (root / "empty_known_hosts").write_text("")
    other = keygen(root / "other_host_key")
    (root / "changed_known_hosts").write_text(f"[127.0.0.1]:{port} {other}\n")
    common = f"  HostName 127.0.0.1\n  User {user}\n  IdentitiesOnly yes\n  GlobalKnownHostsFile /dev/null\n"
    hosts = {
        ALIAS: (port, "id_ed25519", "known_hosts"),
        "no-python-board": (no_python_port, "id_ed25519", "known_hosts"),
        "unknown-key-board": (port, "id_ed25519", "empty_known_hosts"),
        "changed-key-board": (port, "id_ed25519", "changed_known_hosts"),
        "stranger-board": (port, "stranger", "known_hosts"),
    }
    config = "".join(
        f"Host {name}\n{common}  Port {p}\n  IdentityFile {root}/{key}\n  UserKnownHostsFile {root}/{known}\n"
        for name, (p, key, known) in hosts.items()
    )
    (root / "ssh_config").write_text(config)
    server = Board(root, port, no_python_port, root / "ssh_config")
    server.start()
    return server
