"""Fuzzed command lines (hypothesis, seeded): every bad value of every option a user types is one line on
stderr naming the option, exit status 1 or 2, no traceback, nothing created, the results database untouched.

The fast part of the reliability suite (a few hundred cases); benchmarks/reliability.py runs the same
properties by the thousand.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from fuzzing import assert_clean_error, fresh, fuzz_settings, run_cli
from hypothesis import given, seed
from hypothesis import strategies as st

FUZZ = fuzz_settings(40)

# what a user mistypes: numbers out of range, not numbers, empty, unicode, spaces, separators
# no control characters nor line or paragraph separators: a file name holding one would print as two lines
PRINTABLE = st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"])
junk_text = st.text(alphabet=PRINTABLE, min_size=0, max_size=12).filter(lambda t: not t.startswith("-"))
bad_width = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda w: not (0 < w <= 2)).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "0", "-0.5", "2.0001", "1e309", "0x1p-3", "½", ""]),
    junk_text.filter(lambda t: not _is_number_in(t, 0, 2)),
)
bad_resolution = st.one_of(
    st.integers(max_value=31).map(str),
    st.integers(min_value=2049, max_value=10**12).map(str),
    st.sampled_from(["32.5", "", "nan", "2e3", "224px"]),
    junk_text.filter(lambda t: "," not in t and not _is_int_in(t, 32, 2048)),
)
bad_threads = st.one_of(
    st.integers(max_value=0).map(str),
    junk_text.filter(lambda t: not any(_is_int_in(part, 1, 10**9) for part in t.split(",")) or t.strip(", ") == ""),
)
bad_budget = st.one_of(
    st.floats(max_value=0).map(repr),
    st.sampled_from(["nan", "-inf", "0", "", "5ms"]),
    junk_text.filter(lambda t: not _is_number_in(t, 1e-300, math.inf)),
)


def _is_number_in(text: str, low: float, high: float) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return low < value <= high or (low == 0 and value == high)


def _is_int_in(text: str, low: int, high: int) -> bool:
    try:
        value = int(text)
    except ValueError:
        return False
    return low <= value <= high


@pytest.fixture
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@seed(13)
@FUZZ
@given(width=bad_width)
def test_bad_widths(base: Path, width: str) -> None:
    tmp = fresh(base)
    for command in (["models", "--width", width], ["export", "--model", "mobilenetv2", "--width", width]):
        code, stderr = (
            run_cli(tmp, *command, "--out", str(tmp / "out")) if command[0] == "export" else run_cli(tmp, *command)
        )
        assert_clean_error(tmp, code, stderr, ("width", "--width"))


@seed(13)
@FUZZ
@given(resolution=bad_resolution)
def test_bad_resolutions(base: Path, resolution: str) -> None:
    tmp = fresh(base)
    code, stderr = run_cli(
        tmp, "export", "--model", "mobilenetv2", "--resolution", resolution, "--out", str(tmp / "out")
    )
    assert_clean_error(tmp, code, stderr, ("resolution", "--resolution"))
    code, stderr = run_cli(tmp, "sweep", "--model", "mobilenetv2", "--budget-ms", "5", "--resolutions", resolution,
                       "--out", str(tmp / "out"))  # fmt: skip
    assert_clean_error(tmp, code, stderr, ("resolution", "--resolutions"))


@seed(13)
@FUZZ
@given(threads=bad_threads)
def test_bad_thread_counts(base: Path, threads: str, tiny_onnx: Path) -> None:
    tmp = fresh(base)
    code, stderr = run_cli(tmp, "bench", str(tiny_onnx), "--threads", threads)
    assert_clean_error(tmp, code, stderr, "--threads")
    code, stderr = run_cli(tmp, "info", "--peak", "--threads", threads)
    assert_clean_error(tmp, code, stderr, "--threads")


@seed(13)
@FUZZ
@given(budget=bad_budget)
def test_bad_budgets(base: Path, budget: str) -> None:
    tmp = fresh(base)
    code, stderr = run_cli(tmp, "sweep", "--model", "mobilenetv2", "--budget-ms", budget, "--out", str(tmp / "out"))
    assert_clean_error(tmp, code, stderr, ("--budget-ms", "budget"))


comma_lists = st.lists(st.one_of(junk_text, st.just("")), min_size=1, max_size=4).map(",".join)


@seed(13)
@FUZZ
@given(models=comma_lists, formats=comma_lists, precisions=comma_lists, widths=comma_lists)
def test_bad_comma_lists(base: Path, models: str, formats: str, precisions: str, widths: str) -> None:
    tmp = fresh(base)
    code, stderr = run_cli(
        tmp, "sweep", "--model", models or ",", "--format", formats or ",", "--precision", precisions or ",",
        "--widths", widths or ",", "--budget-ms", "5", "--out", str(tmp / "out"),
    )  # fmt: skip
    assert_clean_error(tmp, code, stderr, ("model", "format", "precision", "width", "--"))


@seed(13)
@FUZZ
@given(name=st.text(alphabet=PRINTABLE.filter(lambda c: c != "/"), min_size=1, max_size=20))
def test_missing_files_with_any_name(base: Path, name: str) -> None:
    tmp = fresh(base)
    for suffix in (".onnx", ".tflite", ".xml", ".bin", ""):
        path = tmp / f"no such {name}{suffix}"
        code, stderr = run_cli(tmp, "bench", str(path), "--no-store")
        assert_clean_error(tmp, code, stderr, path.name.strip())  # the line is read stripped


@seed(13)
@FUZZ
@given(
    repeats=st.lists(
        st.sampled_from(["--json", "--int8", "--float-io", "--precision=fp16", "--format=onnx"]), min_size=2, max_size=5
    )
)
def test_repeated_and_contradicting_options(base: Path, repeats: list[str]) -> None:
    """Options given twice or against each other are either accepted (the last wins, as click does) or refused
    in one line; never a traceback. Only the refusals are run here (no export is made)."""
    tmp = fresh(base)
    args = ["export", "--model", "mobilenetv2", "--width", "0", *repeats, "--out", str(tmp / "out")]
    code, stderr = run_cli(tmp, *args)
    assert_clean_error(tmp, code, stderr, ("width", "precision", "fp16"))
