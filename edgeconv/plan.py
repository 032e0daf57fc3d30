"""Which (format, precision) pairs a command makes: ``--format`` and ``--precision`` parsed and checked the
same way by ``export`` and ``sweep``, each pair a format cannot produce skipped with a note."""

from __future__ import annotations

from edgeconv.errors import UsageError
from edgeconv.runtime.formats import PRECISIONS, get_format, list_formats


def parse_formats(text: str) -> list[str]:
    """``tflite,onnx`` or ``all`` -> checked format names, in the order given."""
    names = list_formats() if text.strip() == "all" else [f.strip() for f in text.split(",") if f.strip()]
    if not names:
        raise UsageError("--format names no format")
    return [get_format(name).name for name in dict.fromkeys(names)]


def parse_precisions(text: str) -> list[str]:
    """``fp32,int8`` or ``all`` -> checked precisions, in the order given."""
    names = list(PRECISIONS) if text.strip() == "all" else [p.strip() for p in text.split(",") if p.strip()]
    for name in names:
        if name not in PRECISIONS:
            raise UsageError(f"unknown precision {name!r} (precisions: {', '.join(PRECISIONS)}, or all)")
    if not names:
        raise UsageError("--precision names no precision")
    return list(dict.fromkeys(names))


def plan_exports(formats: list[str], precisions: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Every (format, precision) pair a format can produce, and a note for each pair it cannot."""
    pairs = [(f, p) for f in formats for p in precisions if p in get_format(f).precisions]
    notes = [
        f"{f} does not produce {p}; skipped" for f in formats for p in precisions if p not in get_format(f).precisions
    ]
    if not pairs:
        raise UsageError(f"none of the formats {', '.join(formats)} produces {', '.join(precisions)}")
    return pairs, notes
