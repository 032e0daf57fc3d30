"""Published weights into the user's torch hub cache: torch.hub's own download (a progress bar, a temporary
``.partial`` file moved into place only once its sha256 prefix matches), the cache torchvision and timm use
(``$TORCH_HOME/hub/checkpoints``), and one line instead of a traceback when there is no network.

``EDGECONV_OFFLINE=1`` forbids the network: a file already in the cache is used, anything else is the one line
that says where to put it.
"""

from __future__ import annotations

import http.client
import os
import socket
import urllib.error
from collections.abc import Callable
from pathlib import Path

import torch.hub

from edgeconv.atomic import sha256_files
from edgeconv.errors import ArtifactError, first_line
from edgeconv.models.published import PublishedWeights

OFFLINE_ENV = "EDGECONV_OFFLINE"
DOWNLOAD_TIMEOUT_S = 60.0  # per socket operation: a stalled server is an error, not a hang


def cache_path(entry: PublishedWeights) -> Path:
    """Where torch.hub keeps ``entry``: ``$TORCH_HOME/hub/checkpoints/<file name>`` (``~/.cache/torch``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / entry.filename


def _offline_line(entry: PublishedWeights, path: Path, why: str) -> str:
    return f"{why}: {entry.tag} is not in the cache; download {entry.url} and put it at {path}"


def verified(entry: PublishedWeights, path: Path) -> str:
    """The full sha256 of ``path``, after checking it against the entry's digest (or its prefix)."""
    digest = sha256_files(path)
    if not digest.startswith(entry.sha256):
        raise ArtifactError(
            f"{path} is not {entry.tag}: its sha256 is {digest[:16]}..., the published file's starts with "
            f"{entry.sha256}; delete it to download it again"
        )
    return digest


def fetch(entry: PublishedWeights, log: Callable[[str], None] | None = None, progress: bool = True) -> Path:
    """The cached file of ``entry`` (its hash checked), downloaded first if it is not there yet."""
    path = cache_path(entry)
    if path.is_file():
        verified(entry, path)
        return path
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise ArtifactError(_offline_line(entry, path, f"offline (${OFFLINE_ENV})"))
    path.parent.mkdir(parents=True, exist_ok=True)
    if log:
        log(f"downloading {entry.tag} from {entry.url} to {path}")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # torch.hub's urlopen takes no timeout of its own
    try:
        torch.hub.download_url_to_file(entry.url, str(path), hash_prefix=entry.sha256, progress=progress)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or first_line(exc)
        raise ArtifactError(_offline_line(entry, path, f"cannot download ({reason})")) from None
    except RuntimeError as exc:  # torch.hub's hash check; the partial file is already removed
        raise ArtifactError(f"{entry.url} is not the published {entry.tag}: {first_line(exc)}") from None
    finally:
        socket.setdefaulttimeout(previous)
    return path
