"""The wheel and the sdist hold every module of the source tree (an editable install would hide a missing one).

The sdist and, from it, the wheel are built with the standard PEP 517 front end (as pip does for a user without
a wheel) and compared with the files under edgeconv/, exporters/ and runtime/. ``make test`` builds them once
(``make wheel``, into a clean dist/) and names the directory in ``$EDGECONV_DIST``; without it they are built
here from a clean copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from built_dists import prebuilt

ROOT = Path(__file__).resolve().parent.parent
SOURCE_TREES = {"edgeconv": "edgeconv", "exporters": "edgeconv/exporters", "runtime": "edgeconv/runtime"}


def source_modules() -> dict[str, str]:
    """Every .py file of the source trees -> the path it must have inside the wheel."""
    modules = {}
    for directory, installed in SOURCE_TREES.items():
        for path in (ROOT / directory).rglob("*.py"):
            relative = path.relative_to(ROOT / directory).as_posix()
            modules[path.relative_to(ROOT).as_posix()] = f"{installed}/{relative}"
    return modules


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    built = prebuilt()
    if built is not None:
        return built
    # a clean copy: build artefacts of an editable install (*.egg-info/SOURCES.txt, build/) would otherwise
    # carry files that discovery no longer finds into the sdist, and from there into the wheel
    source = tmp_path_factory.mktemp("src") / "edgeconv"
    ignore = shutil.ignore_patterns("*.egg-info", "build", "dist", ".venv*", "__pycache__", ".*_cache", "runs", ".git")
    shutil.copytree(ROOT, source, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],  # the wheel is built from the sdist
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_wheel_holds_every_module_under_its_package_name(dists: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    expected = source_modules()
    assert len(expected) > 60  # the trees were found
    missing = sorted(source for source, installed in expected.items() if installed not in names)
    assert missing == [], f"modules left out of the wheel: {missing}"
    assert "edgeconv/sweep/runner.py" in names and "edgeconv/runtime/backends/ort.py" in names
    stray = sorted(n for n in names if n.endswith(".py") and n not in expected.values())
    assert stray == [], f"files in the wheel that are not in the source tree: {stray}"


def test_sdist_holds_every_module(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    missing = sorted(source for source in source_modules() if source not in names)
    assert missing == [], f"modules left out of the sdist: {missing}"
    assert {"setup.py", "pyproject.toml", "README.md"} <= names


def test_wheel_entry_point_and_no_test_or_benchmark_code(dists: dict[str, Path]) -> None:
    wheel = zipfile.ZipFile(dists["wheel"])
    entry_points = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
    assert "edgeconv = edgeconv.cli:main" in wheel.read(entry_points).decode()
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in wheel.namelist())
