"""A real labgrid farm on 127.0.0.1: ``labgrid-coordinator`` on a port it picks, and exporters whose
``NetworkService`` is the loopback sshd of ``loopback_sshd.py``; places made with ``labgrid-client``, as a farm's
administrator makes them. Every process is started here and stopped by its PID. Used by tests/targets and by
benchmarks/farm.py."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    return str(BIN / name) if (BIN / name).exists() else shutil.which(name) or name


@dataclass
class Farm:
    """A coordinator (its working directory holds places.yaml and its log) and the exporters started for it."""

    root: Path
    address: str = ""
    coordinator: subprocess.Popen[bytes] | None = None
    exporters: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> None:
        work = self.root / "coordinator"
        work.mkdir(parents=True, exist_ok=True)
        log = open(work / "coordinator.log", "wb")  # noqa: SIM115 - the process writes it until stopped
        self.coordinator = subprocess.Popen(
            [tool("labgrid-coordinator"), "-l", "127.0.0.1:0"], cwd=work, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = re.search(rb"listening on (127\.0\.0\.1:\d+)", (work / "coordinator.log").read_bytes())
            if found:
                self.address = found[1].decode()
                return
            if self.coordinator.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"labgrid-coordinator did not start: {(work / 'coordinator.log').read_text()[-2000:]}")

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "LG_COORDINATOR": self.address}

    def client(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``labgrid-client ARGS`` against this coordinator."""
        proc = subprocess.run([tool("labgrid-client"), *args], env=self.env, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise RuntimeError(f"labgrid-client {' '.join(args)}: {proc.stdout}{proc.stderr}")
        return proc

    def export(self, name: str, host: str, port: int, user: str | None = None) -> None:
        """An exporter ``name`` whose group ``board`` is a NetworkService at ``host:port``; returns once the
        coordinator lists it."""
        config = self.root / f"{name}.yaml"
        user = user or getpass.getuser()
        config.write_text(f"board:\n  NetworkService:\n    address: {host}\n    username: {user}\n    port: {port}\n")
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115
        command = [tool("labgrid-exporter"), "-c", self.address, "-n", name, str(config)]
        self.exporters[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while f"{name}/board/NetworkService" not in self.client("resources").stdout:
            if time.monotonic() > deadline:
                output = (self.root / f"{name}.log").read_text()[-2000:]
                raise RuntimeError(f"exporter {name} did not connect: {output}")
            time.sleep(0.1)

    def stop_exporter(self, name: str) -> None:
        process = self.exporters.pop(name)
        process.kill()
        process.wait()

    def place(self, name: str, exporter: str, **tags: str) -> None:
        """A place ``name`` matching ``exporter``'s board, with ``tags``."""
        self.client("-p", name, "create")
        self.client("-p", name, "add-match", f"{exporter}/board/NetworkService")
        if tags:
            self.client("-p", name, "set-tags", *(f"{k}={v}" for k, v in tags.items()))

    def stop(self) -> None:
        for name in list(self.exporters):
            self.stop_exporter(name)
        if self.coordinator is not None:
            self.coordinator.kill()
            self.coordinator.wait()
