"""edgeconv: export mobile vision models to edge formats and choose the width that meets a latency budget.

This package is imported on devices too: keep it free of heavy imports (torch and friends load lazily).
"""

from __future__ import annotations

__version__ = "0.1.0"
