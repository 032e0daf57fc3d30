"""Per-op times from LiteRT's native ``benchmark_model --enable_op_profiling=true`` (the ``adb://`` path).

The tool prints an "Operator-wise Profiling Info for Regular Benchmark Runs" section whose "Run Order" table
has one row per node (or, inside the XNNPACK delegate, per XNNPACK operator name), with the average ms of one
call and the times it was called per run; older versions print a ``[start]`` column, newer ones do not.
"""

from __future__ import annotations

import re
from typing import Any

from edgeconv.errors import ArtifactError
from edgeconv.runtime.profile.layers import Layer, kind_of

_SECTION = "Operator-wise Profiling Info for Regular Benchmark Runs"
_XNNPACK_KINDS = (
    ("DWConv", "depthwise conv"),
    ("IGEMM", "full conv"),
    ("Convolution", "pointwise conv"),  # XNNPACK runs a 1x1 convolution as a GEMM
    ("Fully Connected", "fully connected"),
    ("Pooling", "pooling"),
    ("Mean", "pooling"),
    ("Copy", "reorder"),
    ("Convert", "reorder"),
)


def _kind(node_type: str) -> str:
    if "(" in node_type:  # an XNNPACK operator: "Convolution (NHWC, QC8) GEMM"
        return next((kind for key, kind in _XNNPACK_KINDS if key in node_type), "elementwise")
    return "conv" if node_type == "CONV_2D" else kind_of(node_type, None, None)  # the tool gives no kernel size


def _cells(line: str) -> list[str]:
    line = re.sub(r"^\s*(?:\d{4}-\d\d-\d\d [\d:.]+ )?(?:INFO:|[IWE] tflite\s*:)?", "", line)
    return [cell.strip() for cell in re.split(r"\t|\s{2,}", line.strip()) if cell.strip()]


def parse_op_profile(text: str) -> list[Layer]:
    """The layers of the regular runs' "Run Order" table; each layer's ``ms`` is its time per run (the
    average call times the calls per run). Empty when the output has no such section."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _SECTION in line), None)
    if start is None:
        return []
    header = next((i for i in range(start, len(lines)) if "[node type]" in lines[i]), None)
    if header is None:
        return []
    columns = [c.strip("[]").lower() for c in _cells(lines[header])]
    layers = []
    for line in lines[header + 1 :]:
        cells = _cells(line)
        if len(cells) < len(columns):
            break
        row = dict(zip(columns, [*cells[: len(columns) - 1], " ".join(cells[len(columns) - 1 :])], strict=True))
        try:
            calls, avg_ms = int(row["times called"]), float(row["avg ms"])
        except (KeyError, ValueError):
            break  # the table ended (or is not one edgeconv can read): what was read stands
        layers.append(Layer(row["name"], row["node type"], _kind(row["node type"]), avg_ms * calls))
        layers[-1].calls = calls
    return layers


def native_profile(text: str, tool: str) -> dict[str, Any]:
    """The profile of one run of the native tool, as :func:`edgeconv.runtime.profile.profile_artifact` gives it;
    an output without an op table is one :class:`~edgeconv.errors.ArtifactError` line."""
    layers = parse_op_profile(text)
    if not layers:
        raise ArtifactError(f"{tool} printed no op profiling table (an old build, or profiling not compiled in)")
    return {"profiler": f"{tool} --enable_op_profiling", "layers": layers, "fused": {}}
