"""A full disk (a small tmpfs, mounted for the test) during an export and during a sweep: one line that names
the path that could not be written, exit status 1, nothing partial left, the results database intact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import leftovers, partial_files, read_database, run_edgeconv, small_disk

EXPORT = ["export", "--model", "mobilenetv2", "--resolution", "32", "--num-classes", "10"]
SWEEP = [
    "sweep", "--model", "mobilenetv2", "--widths", "0.35,0.5,1.0", "--resolutions", "32", "--format", "tflite",
    "--precision", "int8", "--epochs", "1", "--runs", "10", "--min-seconds", "0.05", "--budget-ms", "100",
]  # fmt: skip


@pytest.fixture
def disk(request: pytest.FixtureRequest) -> Iterator[Path]:
    try:
        with small_disk(request.param) as mount_point:
            yield mount_point
    except OSError as exc:  # not root, or no CAP_SYS_ADMIN in this container
        pytest.skip(str(exc))


def assert_one_line_naming(stderr: str, under: Path) -> None:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert lines[-1].startswith(f"Error: cannot write {under}/"), stderr
    assert "space" in lines[-1], lines[-1]


@pytest.mark.parametrize(
    ("disk", "fmt", "precision", "width"),
    [
        (200, "tflite", "fp32", "1.0"),
        (200, "onnx", "fp32", "1.0"),
        (200, "openvino", "fp32", "1.0"),  # OpenVINO's writer says "basic_ios::clear: iostream error"
        # room for the float file but not for onnxruntime's scratch copies: its optimizer left a truncated model
        # that onnx then called corrupt (a DecodeError traceback before edgeconv compared the disk's room)
        (4637, "onnx", "int8", "0.35"),
    ],
    indirect=["disk"],
)
def test_an_export_onto_a_full_disk_says_which_file_and_leaves_nothing(
    disk: Path, fmt: str, precision: str, width: str, tmp_path: Path
) -> None:
    db = tmp_path / "r.sqlite"
    args = [*EXPORT, "--width", width, "--format", fmt, "--precision", precision, "--out", str(disk / "out")]
    done = run_edgeconv(args, {"EDGECONV_DB": str(db)})
    assert done.returncode == 1
    assert all(line.startswith("note: ") for line in done.stderr.strip().splitlines()[:-1]), done.stderr
    assert_one_line_naming(done.stderr, disk / "out")
    assert list((disk / "out").iterdir()) == []


@pytest.mark.parametrize("disk", [1536], indirect=True)
def test_a_sweep_that_fills_the_disk_stops_in_one_line_with_its_database_intact(disk: Path) -> None:
    """The output directory and the results database share the small disk: whichever write finds it full first
    (an artifact, a checkpoint, a database page) is named, and everything written before it is whole."""
    out, db = disk / "out", disk / "r.sqlite"
    done = run_edgeconv([*SWEEP, "--out", str(out)], {"EDGECONV_DB": str(db)})
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and lines[-1].startswith("Error: "), done.stderr
    assert str(disk) in lines[-1] and ("space" in lines[-1] or "full" in lines[-1]), lines[-1]
    assert partial_files(out) == [] and leftovers(out) == []
    stored = read_database(db)
    assert stored.intact and stored.duplicated == 0
