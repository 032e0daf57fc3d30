"""Farm targets' pure logic: what a spec names, and how a waiter tells a dead holder from a live one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edgeconv.errors import UsageError
from edgeconv.targets.farm.holders import STALE_S, Holder, Watch
from edgeconv.targets.farm.spec import FarmSettings, parse_farm
from edgeconv.targets.ssh import DEFAULT_DIR


def test_specs_name_a_place_or_a_filter_and_a_directory() -> None:
    place = parse_farm("labgrid://pi-5")
    assert place.by_name and place.filters == {"name": "pi-5"} and place.directory == DEFAULT_DIR
    assert place.label == "labgrid://pi-5"
    tagged = parse_farm("labgrid:board=rpi5,lab=north/~/bench")
    assert not tagged.by_name and tagged.filters == {"board": "rpi5", "lab": "north"}
    assert tagged.directory == "bench" and tagged.label == "labgrid:board=rpi5,lab=north/~/bench"
    assert tagged.pinned("pi-7").label == "labgrid://pi-7/~/bench"
    assert parse_farm("labgrid://pi/srv/edgeconv").directory == "/srv/edgeconv"
    for bad in ("labgrid://", "labgrid:board", "labgrid:Board=x", "labgrid:board="):
        with pytest.raises(UsageError):
            parse_farm(bad)


def test_the_coordinator_comes_from_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGECONV_TARGETS", "/nonexistent/targets.toml")
    monkeypatch.setenv("LG_COORDINATOR", "farm.lab:1234")
    assert FarmSettings().address() == "farm.lab:1234"
    assert FarmSettings(coordinator="other").address() == "other:20408"
    monkeypatch.delenv("LG_COORDINATOR")
    assert FarmSettings().configured() is None and FarmSettings().address() == "127.0.0.1:20408"
    passed_on = FarmSettings(coordinator="h:9", priority=2, kick=True).argv()
    assert passed_on == ["--coordinator", "h:9", "--priority", "2", "--kick"]


def test_a_holder_on_this_host_is_dead_when_its_process_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert Holder(f"lab/alice+edgeconv-{child.pid}").dead_on("lab")
    assert not Holder(f"lab/alice+edgeconv-{child.pid}").dead_on("elsewhere")  # another host: not by pid
    assert not Holder("lab/alice").dead_on("lab")  # not edgeconv: waited for, never kicked


def test_a_holder_elsewhere_is_dead_after_a_silence_seen_by_the_waiter() -> None:
    watch = Watch()
    assert watch.silent_for("pi", "h/u+edgeconv-1", changed=100.0, now=0.0) == 0.0
    assert watch.silent_for("pi", "h/u+edgeconv-1", changed=100.0, now=STALE_S + 1) > STALE_S
    assert watch.silent_for("pi", "h/u+edgeconv-1", changed=115.0, now=STALE_S + 2) == 0.0  # a heartbeat
    assert watch.silent_for("pi", "h/v+edgeconv-2", changed=115.0, now=STALE_S + 3) == 0.0  # a new holder
