"""Processes killed with SIGKILL (no cleanup runs) in the middle of an export, a publish and a sweep: nothing
partial under a final name, the results database intact, and the rerun keeps every stored measurement and
stores none twice. benchmarks/reliability.py does the same at 200 seeded random moments."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from faults import leftovers, partial_files, read_database, run_edgeconv

from edgeconv.staging import MARKER, STAGING_PREFIX
from edgeconv.sweep.search import CONFIRM_SAMPLES
from edgeconv.targets.base import edgeconv_process

EXPORT = ["export", "--model", "mobilenetv2", "--width", "0.35", "--resolution", "32", "--format", "onnx,openvino"]
SWEEP = [
    "sweep", "--model", "mobilenetv2", "--widths", "0.35,0.5", "--resolutions", "32", "--format", "onnx",
    "--precision", "fp32", "--epochs", "1", "--runs", "10", "--min-seconds", "0.05", "--budget-ms", "100",
]  # fmt: skip


def kill_when(args: list[str], env: dict[str, str], ready: Callable[[], bool], timeout_s: float = 300) -> None:
    """Start ``edgeconv ARGS``, SIGKILL it as soon as ``ready()`` holds, and reap it."""
    process = subprocess.Popen(
        [*edgeconv_process(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **env}
    )
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert process.poll() is None, f"ended before the kill point: {process.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    process.stderr.close()  # type: ignore[union-attr]


def test_an_export_killed_mid_conversion_leaves_nothing_under_a_final_name(tmp_path: Path) -> None:
    out, env = tmp_path / "out", {"EDGECONV_DB": str(tmp_path / "r.sqlite")}
    kill_when([*EXPORT, "--out", str(out)], env, lambda: bool(list(out.glob(f"{STAGING_PREFIX}*/*"))))
    assert partial_files(out) == []
    assert [p.name.startswith(STAGING_PREFIX) for p in leftovers(out)] == [True]
    again = run_edgeconv([*EXPORT, "--out", str(out)], env)
    assert again.returncode == 0, again.stderr
    assert leftovers(out) == [] and partial_files(out) == []
    assert sorted(p.name for p in out.iterdir()) == [
        "mobilenetv2_w0.35_r32_fp32.bin", "mobilenetv2_w0.35_r32_fp32.onnx", "mobilenetv2_w0.35_r32_fp32.onnx.json",
        "mobilenetv2_w0.35_r32_fp32.xml", "mobilenetv2_w0.35_r32_fp32.xml.json",
    ]  # fmt: skip


PUBLISH_AND_DIE = """
import os, signal, sys
from pathlib import Path
from edgeconv.staging import make_staging, publish
out = Path(sys.argv[1])
staging = make_staging(out)
files = [staging / name for name in ("m.bin", "m.xml.json", "m.xml")]
for file in files:
    file.write_text(file.name)
real_replace = os.replace
def replace_then_die(source, destination):
    real_replace(source, destination)
    if Path(destination).name == "m.xml.json":  # the companion and sidecar are out, the main file is not
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace_then_die
publish(staging, files, out)
"""


def test_a_publish_killed_half_way_is_finished_by_the_next_run(tmp_path: Path) -> None:
    """The moment between two renames, hit exactly: a real process kills itself right after publishing the
    companion and the sidecar; the next recovery in that directory publishes the main file."""
    from edgeconv.staging import recover

    died = subprocess.run([sys.executable, "-c", PUBLISH_AND_DIE, str(tmp_path)], check=False)
    assert died.returncode == -signal.SIGKILL
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(STAGING_PREFIX)) == [
        "m.bin",
        "m.xml.json",
    ]
    (staging,) = tmp_path.glob(f"{STAGING_PREFIX}*")
    assert (staging / MARKER).is_file() and (staging / "m.xml").is_file()
    assert recover(tmp_path) == [f"finished publishing m.xml in {tmp_path} (its writer was killed)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "m.xml", "m.xml.json"]
    assert (tmp_path / "m.xml").read_text() == "m.xml"


COPY_AND_DIE = """
import os, shutil, signal, sys
from pathlib import Path
from types import SimpleNamespace
from edgeconv.sweep.runner import copy_selected
real_copy = shutil.copy2
def copy_then_die(source, destination):
    real_copy(source, destination)
    os.kill(os.getpid(), signal.SIGKILL)  # one file of the new selection copied
shutil.copy2 = copy_then_die
copy_selected(SimpleNamespace(chosen=SimpleNamespace(artifact_path=sys.argv[2])), Path(sys.argv[1]))
"""


def test_a_sweep_killed_while_copying_its_selection_leaves_the_previous_one_whole(
    tmp_path: Path, tiny: Callable[[str], Path]
) -> None:
    """``selected/`` used to be deleted and then copied file by file: a kill in between left a partial
    selection. Now the copy is staged and swapped in whole."""
    from types import SimpleNamespace

    from edgeconv.staging import recover
    from edgeconv.sweep.runner import copy_selected

    out, previous, new = tmp_path / "out", tiny("onnx"), tiny("openvino")
    copy_selected(SimpleNamespace(chosen=SimpleNamespace(artifact_path=str(previous))), out)  # type: ignore[arg-type]
    before = sorted(p.name for p in (out / "selected").iterdir())
    assert before == [previous.name, f"{previous.name}.json"]
    died = subprocess.run([sys.executable, "-c", COPY_AND_DIE, str(out), str(new)], check=False)
    assert died.returncode == -signal.SIGKILL
    assert sorted(p.name for p in (out / "selected").iterdir()) == before
    assert partial_files(out) == [] and len(leftovers(out)) == 1
    assert len(recover(out)) == 1 and leftovers(out) == []


def test_a_sweep_killed_after_its_first_measurement_resumes_without_losing_or_repeating_any(tmp_path: Path) -> None:
    out, db = tmp_path / "out", tmp_path / "r.sqlite"
    env = {"EDGECONV_DB": str(db)}
    kill_when([*SWEEP, "--out", str(out)], env, lambda: len(read_database(db).benches) >= 1)
    before = read_database(db)
    assert before.intact and partial_files(out) == []
    again = run_edgeconv([*SWEEP, "--out", str(out), "--json"], env)
    assert again.returncode == 0, again.stderr
    after = read_database(db)
    assert after.intact and after.duplicated == 0 and after.lost(before) == 0
    assert after.most_per_artifact() <= CONFIRM_SAMPLES  # nothing measured again that was already stored
    assert json.loads(again.stdout)["reused_measurements"] >= 1
    assert leftovers(out) == [] and partial_files(out) == []
