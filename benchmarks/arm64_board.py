"""An arm64 board on this x86 machine: a Debian bookworm aarch64 userland (the Raspberry Pi OS 64-bit base)
built with debootstrap and run under qemu-user emulation, with its own sshd on a loopback port. edgeconv then
treats it as it would a Raspberry Pi: `target check`, `target setup` (the wheel and one runtime, no torch),
`eval --target` of a trained model's artifacts (predictions on aarch64 against this machine's), and a small
`sweep --target`. Latencies under emulation mean nothing; installability and numerical results do.

Needs root and Debian's qemu-user-static and debootstrap (installed here when missing). The root is built once
(about 3 minutes) into --root and reused. Writes benchmarks/results/arm64_board.{json,md}.

    sudo python benchmarks/arm64_board.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "targets"))

from loopback_sshd import free_port, keygen  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
ALIAS = "arm64-board"
EDGECONV = [sys.executable, "-m", "edgeconv"]
TEST_MODEL = ROOT / "tests" / "fixtures" / "digits_mobilenetv2_w0.35_r32.pt"


def sh(*command: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **kwargs)


def enable_emulation() -> None:
    """qemu-user for aarch64 binaries, registered with the kernel's binfmt_misc."""
    if not shutil.which("qemu-aarch64-static") or not shutil.which("debootstrap"):
        sh(
            "apt-get",
            "install",
            "-y",
            "-qq",
            "qemu-user-static",
            "debootstrap",
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    if not (binfmt / "register").exists():
        sh("mount", "-t", "binfmt_misc", "binfmt_misc", str(binfmt))
    if not (binfmt / "qemu-aarch64").exists():
        (binfmt / "register").write_text(Path("/usr/lib/binfmt.d/qemu-aarch64.conf").read_text().strip())


def build_root(root: Path) -> float:
    """debootstrap an arm64 bookworm userland with Python, venv and OpenSSH (once); seconds it took."""
    if (root / ".edgeconv-built").exists():
        return 0.0
    started = time.monotonic()
    packages = "python3,python3-venv,python3-pip,ca-certificates,openssh-server,openssh-client"
    sh("debootstrap", "--arch=arm64", "--variant=minbase", f"--include={packages}", "bookworm", str(root))
    # no bind mounts of the host's /proc or /sys: the runtimes' cpuinfo parsers crash on the x86 host's files
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    (root / ".edgeconv-built").write_text("ok\n")
    return time.monotonic() - started


def trust_host_certificates(root: Path) -> None:
    """The board trusts what this machine trusts (a network whose TLS is intercepted needs it for pip)."""
    bundle = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
    if bundle.is_file():
        shutil.copy(bundle, root / "etc" / "ssl" / "certs" / "ca-certificates.crt")


def start_sshd(root: Path, work: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """sshd inside the arm64 root on 127.0.0.1; returns it and an ssh_config with the alias ``arm64-board``."""
    port = free_port()
    host_key = keygen(work / "host_key")
    for name in ("host_key", "host_key.pub"):
        shutil.copy(work / name, root / "etc" / "ssh" / f"edgeconv_{name}")
    (root / "root" / ".ssh").mkdir(mode=0o700, exist_ok=True)
    (root / "root" / ".ssh" / "authorized_keys").write_text(keygen(work / "id_ed25519") + "\n")
    (root / "run" / "sshd").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "ssh" / "sshd_config_edgeconv").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey /etc/ssh/edgeconv_host_key\nUsePAM no\nStrictModes no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "SetEnv SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt "
        "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\n"
    )
    log = open(work / "sshd.log", "ab")  # noqa: SIM115 (the server outlives this function)
    server = subprocess.Popen(
        ["chroot", str(root), "/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config_edgeconv"], stderr=log
    )
    (work / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    config = work / "ssh_config"
    config.write_text(
        f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {work}/id_ed25519\n"
        f"  IdentitiesOnly yes\n  UserKnownHostsFile {work}/known_hosts\n  GlobalKnownHostsFile /dev/null\n"
        "  ConnectTimeout 60\n"
    )
    deadline = time.monotonic() + 120  # sshd starts slowly under emulation
    while time.monotonic() < deadline:
        probe = subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", ALIAS, "true"], capture_output=True)
        if probe.returncode == 0:
            return server, config
        time.sleep(1)
    raise RuntimeError(f"sshd in the arm64 root did not start: {(work / 'sshd.log').read_text()[-2000:]}")


def edgeconv(*args: str, timeout: float = 3600) -> tuple[Any, float]:
    """Run an edgeconv command with --json; its parsed output and the seconds it took."""
    started = time.monotonic()
    proc = subprocess.run([*EDGECONV, *args, "--json"], capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"edgeconv {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/var/tmp/edgeconv-arm64-root"))
    args = parser.parse_args()
    enable_emulation()
    build_s = build_root(args.root)
    trust_host_certificates(args.root)
    work = Path(tempfile.mkdtemp(prefix="edgeconv-arm64-"))
    server, config = start_sshd(args.root, work)
    os.environ["EDGECONV_SSH_CONFIG"] = str(config)
    os.environ["EDGECONV_DB"] = str(work / "results.sqlite")
    target = f"ssh://{ALIAS}"
    record: dict[str, Any] = {"root_build_s": round(build_s, 1), "target": target}
    try:
        record["check_before"], record["check_s"] = edgeconv("target", "check", target)
        timings = {}
        for runtime in ("litert", "onnx"):
            report, timings[runtime] = edgeconv("target", "setup", target, "--runtime", runtime)
        record["setup"], record["setup_s"] = report, timings
        exports = work / "exports"
        artifacts, record["export_s"] = edgeconv(
            "export",
            "--checkpoint",
            str(TEST_MODEL),
            "--format",
            "tflite,onnx",
            "--precision",
            "fp32,int8",
            "--max-drop",
            "100",
            "-o",
            str(exports),
        )
        files = [a["path"] for a in artifacts]
        evaluations, record["eval_s"] = edgeconv("eval", *files, "--target", target)
        record["evaluations"] = [
            {
                "artifact": Path(e["target"]).name,
                "top1_on_arm64": e["top1"],
                "agreement_with_x86": e["workstation_agreement"]["top1_agreement"],
                "max_abs_logit_diff": e["workstation_agreement"]["max_abs_logit_diff"],
                "images": e["num_images"],
                "machine": e["device"]["machine"],
            }
            for e in evaluations
        ]
        sweep, record["sweep_s"] = edgeconv(
            "sweep",
            "--target",
            target,
            "--model",
            "mobilenetv2",
            "--widths",
            "0.25,0.35",
            "--resolutions",
            "32",
            "--format",
            "tflite",
            "--precision",
            "int8",
            "--epochs",
            "1",
            "--budget-ms",
            "1000",
            "--runs",
            "10",
            "--min-seconds",
            "0.1",
            "--out",
            str(work / "sweep"),
        )
        record["sweep"] = {
            "device": {k: sweep["device"].get(k) for k in ("machine", "cpu_model", "os", "int8_path", "python")},
            "measurements": sweep["measurements"],
            "chosen": (sweep["selection"]["chosen"] or {}).get("artifact_name"),
        }
    finally:
        server.kill()
    write(record)


def write(record: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "arm64_board.json").write_text(json.dumps(record, indent=2) + "\n")
    device = record["sweep"]["device"]
    lines = [
        "# An arm64 board under qemu-user emulation (benchmarks/arm64_board.py)",
        "",
        f"Debian bookworm aarch64 userland (debootstrap), sshd inside on 127.0.0.1, reached as `{record['target']}`. "
        "**Latencies under emulation mean nothing**; what counts is that edgeconv installs from its wheel and the "
        "artifacts load and give the same answers on aarch64.",
        "",
        f"- device as the board reports it: {device['machine']}, {device['os']}, Python {device['python']}, "
        f"int8 path {device['int8_path']}",
        f"- root built in {record['root_build_s']:.0f} s (0: reused); `target setup` "
        + ", ".join(f"--runtime {k}: {v:.0f} s" for k, v in record["setup_s"].items()),
        f"- after setup: edgeconv {record['setup']['edgeconv']}, runtimes "
        + ", ".join(f"{k}: {v}" for k, v in record["setup"]["runtimes"].items() if v),
        f"- `eval --target` of 4 artifacts of the committed test model: {record['eval_s']:.0f} s; "
        f"`sweep --target` (2 widths, int8 TFLite): {record['sweep_s']:.0f} s, {record['sweep']['measurements']} "
        f"measurements, chosen {record['sweep']['chosen']}",
        "",
        "| artifact | top-1 on arm64 | top-1 agreement with x86 | max abs logit diff | images |",
        "|---|---|---|---|---|",
    ]
    for e in record["evaluations"]:
        lines.append(
            f"| {e['artifact']} | {e['top1_on_arm64']:.2%} | {e['agreement_with_x86']:.2%} | "
            f"{e['max_abs_logit_diff']:.3g} | {e['images']} |"
        )
    (RESULTS / "arm64_board.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
