"""Settings shared by the fuzz tests (hypothesis): seeded, no deadline, a fresh directory per example."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings


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
