"""Several devices: groups from targets.toml, parallel measurement that never overlaps on one device, and a
sweep per device with the devices side by side in one report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from edgeconv.targets.fleet import expand

if TYPE_CHECKING:
    from loopback_sshd import Board


def test_groups_expand_in_order_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "targets.toml"
    config.write_text('[groups]\nshelf = ["ssh://pi4", "pi5", "adb://R58M123"]\n')
    monkeypatch.setenv("EDGECONV_TARGETS", str(config))
    assert expand(["shelf", "local", "pi5"]) == ["ssh://pi4", "pi5", "adb://R58M123", "local"]
    assert expand([]) == ["local"]


def test_bad_targets_file_is_one_line(cli, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "targets.toml"
    config.write_text("[groups\nshelf = 1\n")
    monkeypatch.setenv("EDGECONV_TARGETS", str(config))
    result = cli("bench", tiny_onnx, "--target", "shelf")
    assert result.code == 1 and "targets.toml is not valid TOML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_two_targets_on_one_device_never_overlap(remote_cli: Any, installed: str, tiny_onnx: Path) -> None:
    """On loopback the board is this very machine: measured "in parallel", the device lock must serialize them."""
    args = ["bench", str(tiny_onnx), "-t", "1", "--runs", "20", "--min-seconds", "1.5", "--no-store"]
    proc = remote_cli(*args, "--target", "local", "--target", installed, "--json")
    assert proc.returncode == 0, proc.stderr
    first, second = sorted(json.loads(proc.stdout), key=lambda r: r["measured_from"])
    assert {first["device"]["device_id"]} == {second["device"]["device_id"]}
    assert first["measured_until"] <= second["measured_from"]
    assert second["lock_wait_s"] > 0  # the second one waited for the device (how long depends on its start-up)


def test_sweep_on_two_devices_reports_them_side_by_side(
    remote_cli: Any, board: Board, installed: str, tmp_path: Path
) -> None:
    out = tmp_path / "fleet"
    sweep = ["sweep", "--model", "mobilenetv2", "--widths", "0.25", "--resolutions", "32", "--format", "onnx"]
    sweep += ["--precision", "fp32", "--epochs", "1", "--runs", "10", "--min-seconds", "0.05", "--budget-ms", "1000"]
    proc = remote_cli(*sweep, "--target", "local", "--target", installed, "--out", str(out), "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr
    fleet = json.loads(proc.stdout)
    assert [d["target"] for d in fleet["devices"]] == ["local", installed]
    assert all(d["chosen"] is not None for d in fleet["devices"])
    for device in fleet["devices"]:
        summary = json.loads((Path(device["out"]) / "sweep.json").read_text())
        assert summary["target"] == device["target"]
        assert summary["config"]["train"]["epochs"] == 1  # the options passed on
    report = remote_cli("report", "--sweep", str(out), "--out", str(tmp_path / "fleet.html"))
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "fleet.html").read_text()
    assert "on 2 devices" in page and installed in page and "data:image/png;base64," in page
    assert (Path(fleet["devices"][1]["out"]) / "report.html").is_file()
