"""The parts every target shares: the content-hash upload cache, run through this machine's shell as a device's
(the ssh tests run the same code over a real OpenSSH server), and the typed measure options, which must reach a
board's ``edgeconv bench`` exactly as given."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeconv.cli.bench_cmd import bench_command
from edgeconv.cli.options import bench_settings_from
from edgeconv.errors import UsageError
from edgeconv.runtime.bench import BenchSettings
from edgeconv.targets.measure_options import MeasureOptions
from edgeconv.targets.transport import ShellTransport, TransportError
from edgeconv.targets.uploads import upload_once


class CountingShell(ShellTransport):
    """This machine's shell as a device's; counts copies and can fail the Nth one as a full disk would."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.copies = 0
        self.fail_at = fail_at

    def put(self, local: Path, remote: str, what: str) -> None:
        self.copies += 1
        if self.copies == self.fail_at:
            raise TransportError(f"{what} on {self.label} failed: No space left on device")
        super().put(local, remote, what)


def files(tmp_path: Path) -> list[Path]:
    (tmp_path / "src").mkdir()
    made = [tmp_path / "src" / "m.xml", tmp_path / "src" / "m.bin"]
    for index, path in enumerate(made):
        path.write_bytes(bytes([index]) * 1000)
    return made


def test_a_set_of_files_is_copied_once_under_its_hash(tmp_path: Path) -> None:
    shell, root = CountingShell(), str(tmp_path / "device")
    first = upload_once(shell, root, "ab" * 32, files(tmp_path), "m.xml")
    again = upload_once(shell, root, "ab" * 32, files(tmp_path / "src"), "m.xml")
    assert first == again == f"{root}/{'ab' * 32}" and shell.copies == 2
    assert sorted(p.name for p in Path(first).iterdir()) == ["m.bin", "m.xml"]
    assert (Path(first) / "m.bin").read_bytes() == b"\x01" * 1000
    assert [p.name for p in Path(root).iterdir()] == ["ab" * 32]  # no staging directory or .part left


def test_a_failed_copy_leaves_nothing_and_the_next_one_copies_everything(tmp_path: Path) -> None:
    root = str(tmp_path / "device")
    with pytest.raises(TransportError, match="copying m.bin on local failed: No space left on device"):
        upload_once(CountingShell(fail_at=2), root, "cd" * 32, files(tmp_path), "m.xml")
    assert list(Path(root).iterdir()) == []  # neither a half set under the hash nor its staging directory
    retry = CountingShell()
    upload_once(retry, root, "cd" * 32, files(tmp_path / "src"), "m.xml")
    assert retry.copies == 2


def test_measure_options_reach_edgeconv_bench_unchanged(tmp_path: Path) -> None:
    settings = BenchSettings(warmup_runs=3, warmup_seconds=0.25, runs=7, min_seconds=0.5, max_seconds=9.0)
    given = MeasureOptions(2, settings, 1.5, 70.0, 512.0, {"spinning": False, "precision_hint": "f16"})
    model = tmp_path / "m.onnx"
    params = bench_command.make_context("bench", [str(model), *given.to_argv()]).params
    assert params["threads"] == 2 and bench_settings_from(params) == settings
    assert (params["cooldown"], params["max_temp"], params["max_rss"]) == (1.5, 70.0, 512.0)
    assert (params["spinning"], params["precision_hint"]) == (False, "f16")
    plain = bench_command.make_context("bench", [str(model), *MeasureOptions(None).to_argv()]).params
    assert plain["threads"] is None and plain["cooldown"] == 0.0 and plain["spinning"] is None
    assert MeasureOptions(None, runtime={"spinning": None}).conditions() == []


def test_an_unknown_runtime_setting_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown runtime setting spin"):
        MeasureOptions(1, runtime={"spin": True})
