"""``bench --max-rss``: a model whose files cannot fit is refused before it loads; a measurement whose peak
resident memory went above the limit is kept but flagged invalid."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from edgeconv.targets.base import edgeconv_process

BENCH = ["-t", "1", "--runs", "5", "--min-seconds", "0.05", "--json"]


def test_a_model_that_cannot_fit_is_refused_before_loading(cli, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "db.sqlite"
    model = tiny("openvino")
    result = cli("bench", model, *BENCH, "--max-rss", "1", "--db", db)
    lines = result.stderr.strip().splitlines()
    assert result.code == 1 and len(lines) == 1, result.stderr
    assert f"{model.name} needs at least" in lines[0] and "--max-rss is 1 MB: refused before loading" in lines[0]
    assert not db.exists() or sqlite3.connect(db).execute("SELECT COUNT(*) FROM bench").fetchone() == (0,)


def _bench(model: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A fresh process, so that its peak resident memory is the measurement's own."""
    command = [*edgeconv_process(), "bench", str(model), *BENCH, "--no-store", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_run_above_the_limit_is_flagged_invalid(tiny) -> None:  # type: ignore[no-untyped-def]
    model = tiny("openvino")
    free = json.loads(_bench(model).stdout)
    assert free["invalid"] is None
    floor = free["rss_before_load_mb"] + free["artifact"]["size_bytes"] / 2**20
    # the runtime and its buffers come on top of what the refusal can know in advance (OpenVINO: ~60 MB)
    assert free["peak_rss_mb"] > floor + 20, free
    limit = round((floor + free["peak_rss_mb"]) / 2, 1)
    flagged = _bench(model, "--max-rss", str(limit))
    assert flagged.returncode == 0, flagged.stderr
    result = json.loads(flagged.stdout)
    assert result["invalid"] == f"peak resident memory {result['peak_rss_mb']:.0f} MB, above --max-rss {limit:g} MB"
