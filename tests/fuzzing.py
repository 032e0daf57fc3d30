"""Shared by the fuzz tests (hypothesis): seeded settings, a fresh directory per example, the CLI runner, the
property every refusal must have, and the log of outcomes that benchmarks/reliability.py counts."""

from __future__ import annotations

import json
import os
import tempfile
import traceback
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, settings

LOG_ENV = "EDGECONV_FUZZ_LOG"


def fuzz_settings(examples: int) -> settings:
    """``examples`` per test unless $EDGECONV_FUZZ_EXAMPLES says otherwise (benchmarks/reliability.py runs
    thousands); derandomized, so that every run and every machine tries the same cases."""
    return settings(
        max_examples=int(os.environ.get("EDGECONV_FUZZ_EXAMPLES", examples)),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def fresh(base: Path) -> Path:
    """A new directory per example (hypothesis runs every example with the same fixture values)."""
    return Path(tempfile.mkdtemp(dir=base))


def run_cli(tmp: Path, *args: str) -> tuple[int, str]:
    """The CLI in-process with its database in ``tmp``; (exit status, stderr). An exception that escapes the
    CLI is logged as a traceback and re-raised (it fails the test)."""
    from edgeconv.cli import main

    result = CliRunner().invoke(main, list(args), env={"EDGECONV_DB": str(tmp / "db.sqlite")})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        record("traceback", "".join(traceback.format_exception(result.exception))[-300:])
        raise result.exception
    return result.exit_code, result.stderr


def outcome(code: int, stderr: str, created: bool) -> str:
    """How one case ended: ran (a valid input), clean error, or one of the failures the tests forbid."""
    lines = stderr.strip().splitlines()
    if code < 0:
        return f"signal {-code}"
    if "Traceback" in stderr:
        return "traceback"
    if code == 0:
        return "ran"
    if created:
        return "partial files"
    if code in (1, 2) and len(lines) == 1 and lines[0].startswith("Error: "):
        return "clean error"
    return "unclear message"


def record(result: str, line: str = "") -> None:
    """Append one case's outcome to $EDGECONV_FUZZ_LOG (when set), under the running test's name."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    with open(path, "a") as log:
        log.write(json.dumps({"test": test, "outcome": result, "line": line[:300]}) + "\n")


def judge(code: int, stderr: str, created: bool, names: str | tuple[str, ...]) -> str:
    """The outcome of one case (an error that does not name the input counts against it), logged."""
    lines = stderr.strip().splitlines()
    named = any(name in stderr for name in ((names,) if isinstance(names, str) else names))
    result = outcome(code, stderr, created)
    if result == "clean error" and not named:
        result = "error not naming the input"
    record(result, lines[0] if lines else "")
    return result


def assert_clean_error(tmp: Path, code: int, stderr: str, names: str | tuple[str, ...]) -> None:
    """Exit 1 or 2, one stderr line naming one of ``names``, no traceback, no database, no output directory."""
    created = (tmp / "db.sqlite").exists() or (tmp / "out").exists()
    lines = stderr.strip().splitlines()
    judge(code, stderr, created, names)
    assert code in (1, 2), (code, stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    assert any(name in lines[0] for name in ((names,) if isinstance(names, str) else names)), lines[0]
    assert not created
