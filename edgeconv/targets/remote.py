"""A board over SSH: check it, install edgeconv's device side on it, and measure artifacts there.

On the device everything lives in one directory (``SshAddress.directory``, default ``~/.cache/edgeconv``):
``venv/`` (edgeconv's wheel with one runtime, no torch), ``wheels/`` (what setup copied), and
``artifacts/<sha256>/`` (each artifact once, with its companions and sidecar) and ``inputs/<sha256>/`` (images
to evaluate on), both in the content-hash cache of ``uploads.py``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeconv.errors import EdgeconvError, UsageError
from edgeconv.runtime.artifact_info import artifact_files, artifact_sha256, sidecar_path
from edgeconv.runtime.exchange import decode_logits, encode_images
from edgeconv.runtime.formats import all_formats
from edgeconv.runtime.preprocess import Preprocessing
from edgeconv.runtime.result import BenchResult
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.targets.runners import EdgeconvRunner
from edgeconv.targets.ssh import Ssh, SshAddress, SshError
from edgeconv.targets.transport import QUICK_S, check
from edgeconv.targets.uploads import upload_once
from edgeconv.targets.wheels import fill_wheelhouse, local_wheel

q = shlex.quote
INSTALL_S = 1800.0  # a pip install on a board can take many minutes

_PROBE_REPORT = """
import importlib.util, json, shutil, sys
from importlib import metadata

def _version(distribution):
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None

_args = json.loads(sys.argv[1])
_where = os.path.expanduser(_args["dir"])
while not os.path.exists(_where):
    _where = os.path.dirname(_where) or "."
_runtimes = {}
for _name, _modules in _args["runtimes"].items():
    _found = [m for m in _modules if importlib.util.find_spec(m) is not None]
    _runtimes[_name] = f"{_found[0]} {_version(_found[0].replace('_', '-'))}" if _found else None
print(json.dumps({
    "python": sys.executable,
    "python_version": platform.python_version(),
    "in_edgeconv_venv": sys.prefix.endswith("/venv") and _version("edgeconv") is not None,
    "venv_module": importlib.util.find_spec("ensurepip") is not None,
    "edgeconv": _version("edgeconv"),
    "runtimes": _runtimes,
    "disk_free_mb": shutil.disk_usage(_where).free // 2**20,
    "device": device_info(),
}))
"""


def probe_script() -> bytes:
    """A stand-alone Python script that reports what ``target check`` shows: the device fingerprint comes from
    edgeconv's own ``runtime/device.py`` (stdlib only), so the board reports exactly what a local bench would."""
    from edgeconv.runtime import device

    return (inspect.getsource(device) + _PROBE_REPORT).encode()


@dataclass
class SshTarget:
    """A device reached with ``ssh``, measured with the edgeconv installed there by :meth:`setup`."""

    address: SshAddress
    accept_new_host_key: bool = False
    run_timeout: float = 900.0
    capabilities: frozenset[str] = frozenset({"eval", "peak", "setup", "conditions"})
    label: str | None = None  # the target as the user named it, when not this address (a farm's place)
    _device: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.label or self.address.label

    @property
    def ssh(self) -> Ssh:
        return Ssh(self.address, self.accept_new_host_key)

    def path(self, *parts: str) -> str:
        """A path inside edgeconv's directory on the device."""
        return "/".join([self.address.directory, *parts])

    # -- check and setup --------------------------------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        """What the device has: Python, CPU, OS, free disk, edgeconv and the runtimes in its venv."""
        runtimes = {spec.backend_name: list(spec.runtime_modules) for spec in all_formats()}
        args = shlex.quote(json.dumps({"dir": self.address.directory, "runtimes": runtimes}))
        venv_python = q(self.path("venv", "bin", "python"))
        remote = (
            f"if [ -x {venv_python} ]; then {venv_python} - {args}\n"
            "elif command -v python3 >/dev/null; then python3 - {args}\n"
            "else echo 'no python3 on the device' >&2; exit 127; fi"
        ).replace("{args}", args)
        status, out, err = self.ssh.run(remote, "checking the device", QUICK_S, probe_script())
        if status == 127:
            raise SshError(
                f"{self.name} has no Python 3: install it there (Debian/Raspberry Pi OS: sudo apt install python3 "
                "python3-venv), then run edgeconv target setup"
            )
        if status != 0:
            raise SshError(f"checking {self.name} failed: {(err.strip().splitlines() or ['no message'])[-1]}")
        report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        report["target"] = self.name
        report["directory"] = self.address.directory
        report["missing"] = self.missing(report)
        return report

    def missing(self, report: dict[str, Any]) -> list[str]:
        """The exact commands that install what the device lacks."""
        if not report["venv_module"] and not report["in_edgeconv_venv"]:
            return ["sudo apt install python3-venv  # on the device", f"edgeconv target setup {self.name}"]
        if not report["in_edgeconv_venv"]:
            return [f"edgeconv target setup {self.name} --runtime litert  # or onnx, openvino"]
        if not any(report["runtimes"].values()):
            return [f"edgeconv target setup {self.name} --runtime litert  # or onnx, openvino"]
        return []

    def setup(self, runtime: str, wheel: Path | None = None, wheelhouse: Path | None = None) -> dict[str, Any]:
        """Create edgeconv's venv on the device and install this edgeconv's wheel with ``runtime``'s extra (no
        torch). With ``wheelhouse``, copy that directory of wheels (see ``edgeconv.targets.wheels``) and install
        offline from it."""
        extras = {spec.runtime_extra for spec in all_formats()}
        if runtime not in extras:
            raise UsageError(f"unknown runtime {runtime!r} (runtimes: {', '.join(sorted(extras))})")
        report = self.check()
        if not report["venv_module"] and not report["in_edgeconv_venv"]:
            raise SshError(
                f"{self.name} cannot create a venv: install python3-venv there (sudo apt install python3-venv)"
            )
        built = local_wheel(wheel)
        if wheelhouse is not None:
            fill_wheelhouse(wheelhouse, built, runtime, report["device"]["machine"], report["python_version"])
        check(self.ssh, f"mkdir -p {q(self.path('wheels'))}", "creating edgeconv's directory")
        uploads = sorted(wheelhouse.glob("*.whl")) if wheelhouse else [built]
        if built.name not in {w.name for w in uploads}:
            uploads.append(built)
        for file in uploads:
            self.ssh.put(file, self.path("wheels", file.name), f"copying {file.name}")
        requirement = q(f"{self.path('wheels', built.name)}[{runtime}]")
        offline = f"--no-index --find-links {q(self.path('wheels'))} " if wheelhouse else ""
        venv = q(self.path("venv"))
        python = q(report["python"]) if not report["in_edgeconv_venv"] else "python3"
        check(
            self.ssh,
            f"[ -x {venv}/bin/python ] || {python} -m venv {venv}\n"
            f"{venv}/bin/python -m pip install --quiet --disable-pip-version-check {offline}{requirement}",
            f"installing edgeconv[{runtime}]",
            INSTALL_S,
        )
        return self.check()

    # -- measuring --------------------------------------------------------------------------------------------
    @property
    def device_id(self) -> str:
        """The device's fingerprint id, as its own edgeconv computes it."""
        return str(self.device()["device_id"])

    def device(self) -> dict[str, Any]:
        """The device's fingerprint (CPU, int8 path, ...), read once from its edgeconv."""
        if self._device is None:
            self._device = self._installed()["device"]
        return self._device

    def _installed(self) -> dict[str, Any]:
        report = self.check()
        if not report["in_edgeconv_venv"]:
            raise SshError(f"edgeconv is not installed on {self.name}: run edgeconv target setup {self.name}")
        return report

    def upload_artifact(self, path: Path) -> str:
        """The artifact's path on the device, copying it (with companions and sidecar) unless the cache has it."""
        files = [*artifact_files(path), *([sidecar_path(path)] if sidecar_path(path).is_file() else [])]
        directory = upload_once(self.ssh, self.path("artifacts"), artifact_sha256(path), files, path.name)
        return f"{directory}/{path.name}"

    def logits(self, path: Path, images: np.ndarray, preprocessing: Preprocessing) -> tuple[np.ndarray, dict[str, Any]]:
        """The artifact's logits for prepared uint8 images, computed on the device (the images are copied there
        once, named by content hash), and the device's fingerprint."""
        remote_file = self.upload_artifact(path)
        payload = encode_images(images, preprocessing.to_dict())
        with tempfile.TemporaryDirectory() as scratch:
            (Path(scratch) / "images.npz").write_bytes(payload)
            digest = hashlib.sha256(payload).hexdigest()
            inputs = upload_once(self.ssh, self.path("inputs"), digest, [Path(scratch) / "images.npz"], "the images")
        remote_images = f"{inputs}/images.npz"
        command = [self.path("venv", "bin", "python"), "-m", "edgeconv", "predict", remote_file, remote_images]
        out = check(self.ssh, shlex.join(command), f"running {path.name} on {len(images)} images", self.run_timeout)
        logits, device = decode_logits(out.strip().splitlines()[-1])
        return logits, {**device, "target": self.name}

    def peak(self, threads: list[int] | None) -> dict[str, Any]:
        """The device's GEMM peak, measured there by its edgeconv (``edgeconv info --peak``)."""
        self._installed()
        command = [self.path("venv", "bin", "python"), "-m", "edgeconv", "info", "--peak", "--json", "--no-store"]
        command += ["--threads", ",".join(map(str, threads))] if threads else []
        out = check(self.ssh, shlex.join(command), "measuring the GEMM peak", self.run_timeout)
        try:
            peak: dict[str, Any] = json.loads(out)["peak"]
        except (ValueError, KeyError, TypeError):
            raise EdgeconvError(f"measuring the GEMM peak on {self.name} returned no result") from None
        return {**peak, "target": self.name}

    def measure(self, path: Path, options: MeasureOptions) -> BenchResult:
        """Benchmark ``path`` on the device (copied there once) with the edgeconv installed there; the result
        carries the device's fingerprint and the local path, and is not stored (the caller stores it)."""
        remote_file = self.upload_artifact(path)
        runner = EdgeconvRunner((self.path("venv", "bin", "python"), "-m", "edgeconv"))
        result = runner.measure(self.ssh, remote_file, path, options, self.run_timeout)
        if result.artifact["sha256"] != artifact_sha256(path):
            raise EdgeconvError(f"the copy of {path.name} on {self.name} differs from the local file")
        result.artifact = {**result.artifact, "path": str(path.resolve()), "device_path": remote_file}
        result.device = {**result.device, "target": self.name}
        return result
