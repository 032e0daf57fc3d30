"""The wheels a board installs: this edgeconv's own wheel, and for a board without internet a wheelhouse of
every dependency downloaded on the workstation for the board's platform."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import edgeconv
from edgeconv.errors import EdgeconvError, UsageError

# glibc versions a manylinux wheel may target (Raspberry Pi OS bookworm has 2.36)
_GLIBC_MINORS = range(17, 40)


def local_wheel(wheel: Path | None = None) -> Path:
    """``wheel`` if given, else this edgeconv built as a wheel from its source checkout (sdist first, then the
    wheel from it, as pip would)."""
    if wheel is not None:
        if not wheel.is_file() or not wheel.name.startswith("edgeconv-") or wheel.suffix != ".whl":
            raise UsageError(f"{wheel} is not an edgeconv wheel file")
        return wheel
    source = Path(edgeconv.__file__).resolve().parent.parent
    if not (source / "pyproject.toml").is_file() or not (source / "setup.py").is_file():
        raise UsageError("give --wheel PATH: the edgeconv wheel to install on the device")
    out = Path(tempfile.mkdtemp(prefix="edgeconv-wheel-"))
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wheels = sorted(out.glob("edgeconv-*.whl"))
    if proc.returncode != 0 or not wheels:
        reason = (proc.stderr.strip().splitlines() or ["no wheel was built"])[-1]
        raise EdgeconvError(f"building edgeconv's wheel failed (python -m build, from the 'host' extra): {reason}")
    return wheels[0]


def fill_wheelhouse(directory: Path, wheel: Path, runtime: str, machine: str, python_version: str) -> None:
    """Download into ``directory`` every wheel ``wheel[runtime]`` needs on a Linux ``machine`` with CPython
    ``python_version``, unless it already holds some (then it is used as it is)."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.glob("*.whl")):
        return
    major_minor = ".".join(python_version.split(".")[:2])
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in _GLIBC_MINORS] + [f"manylinux2014_{machine}"]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(directory)]
    command += ["--python-version", major_minor, "--implementation", "cp"]
    for platform in platforms:
        command += ["--platform", platform]
    proc = subprocess.run([*command, f"{wheel}[{runtime}]"], capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["pip download failed"])[-1]
        raise EdgeconvError(f"downloading the wheels for a {machine} board with Python {major_minor} failed: {reason}")
