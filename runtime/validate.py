"""Checks of a model file's bytes before a runtime sees them: what a native loader would accept wrongly or
choke on. OpenVINO reads an ONNX file behind an ``.xml`` suffix (it picks its frontend by content) and runs an
IR against a ``.bin`` of the wrong size where the offsets still fit; a file holding another format is named
for what it is. Everything else a loader refuses cleanly (edgeconv.runtime.backends.load wraps its error)."""

from __future__ import annotations

import re
from pathlib import Path

from edgeconv.errors import ArtifactError
from edgeconv.runtime.formats import FormatSpec, all_formats

HEAD_BYTES = 64
_IR_DATA = re.compile(rb"<data\b[^>]*>")
_OFFSET, _SIZE = re.compile(rb'\boffset="(\d+)"'), re.compile(rb'\bsize="(\d+)"')


def check_content(path: Path, spec: FormatSpec) -> None:
    """Refuse a file that holds another format's model, or an OpenVINO IR whose weights file is not its own."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not spec.holds(head):
        other = next((s for s in all_formats() if s is not spec and s.holds(head)), None)
        if other is not None:
            raise ArtifactError(
                f"{path.name} holds a {other.label} model, not {spec.label}: rename it to {path.stem}{other.suffix}"
            )
    if spec.companions and ".bin" in spec.companions:
        check_ir_weights(path, path.with_suffix(".bin"))


def check_ir_weights(xml: Path, weights: Path) -> None:
    """An OpenVINO IR's constants lie at (offset, size) in its .bin, which OpenVINO writes to exactly their
    extent: a .bin of any other size is truncated or belongs to another IR."""
    text = xml.read_bytes()
    if not text.rstrip().endswith(b"</net>"):
        return  # a cut-short IR: OpenVINO's parser says what is wrong with it
    ends = []
    for tag in _IR_DATA.findall(text):
        offset, size = _OFFSET.search(tag), _SIZE.search(tag)
        if offset and size:  # a constant's data; other <data> tags describe layer attributes
            ends.append(int(offset.group(1)) + int(size.group(1)))
    needed, found = max(ends, default=0), weights.stat().st_size
    if found != needed:
        raise ArtifactError(
            f"{weights.name} has {found} bytes but {xml.name} reads exactly {needed}: a truncated weights file, "
            "or another export's; export again"
        )
