"""The one content-hash cache on every device: ``ROOT/<sha256>/`` holds a set of files (an artifact with its
companions and sidecar, a benchmark tool, a batch of images) copied once. The files are copied into a staging
directory and the directory renamed, so a half-copied set is never used; two workstations copying the same set
at once keep whichever finished first."""

from __future__ import annotations

import contextlib
import os
import shlex
import uuid
from collections.abc import Sequence
from pathlib import Path

from edgeconv.targets.transport import Transport, TransportError, check

q = shlex.quote


def upload_once(transport: Transport, root: str, sha256: str, files: Sequence[Path], what: str) -> str:
    """The directory ``root/sha256`` on the device, holding ``files`` (by name), copied unless it is there."""
    final = f"{root}/{sha256}"
    status, _, _ = transport.run(f"test -d {q(final)}", f"looking up {what}", 60)
    if status == 0:
        return final
    staging = f"{root}/.{sha256}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part"
    check(transport, f"mkdir -p {q(staging)}", f"copying {what}")
    try:
        for file in files:
            transport.put(file, f"{staging}/{file.name}", f"copying {file.name}")
    except TransportError:
        with contextlib.suppress(TransportError):  # leave no half-copied set behind, on a full disk above all
            transport.run(f"rm -rf {q(staging)}", "cleaning up", 60)
        raise
    check(transport, f"mv -T {q(staging)} {q(final)} 2>/dev/null || rm -rf {q(staging)}", f"copying {what}")
    return final
