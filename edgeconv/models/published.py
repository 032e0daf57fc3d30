"""Published pretrained weights that fit edgeconv's architectures, and how ``--weights`` names them.

Each family lists its files in its own model module (``PUBLISHED = (...)``, passed to ``register_model``).
An entry says where the file is (URL), how to check it (its sha256, or the prefix of it that the file name
carries, which is what ``torch.hub`` checks), the width it was trained at, and how its tensors map onto
edgeconv's (``layout``). This module is torch-free: it only names and chooses; ``edgeconv.train.hub``
downloads and ``edgeconv.train.pretrained`` loads.

``--weights`` takes ``imagenet`` (the family's best ImageNet-1k file for the width asked), ``torchvision:NAME``
or ``timm:NAME`` (one named file), or a path to a local file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeconv.errors import UsageError

SOURCES = ("torchvision", "timm")
LAYOUTS = ("name", "order")
IMAGENET = "imagenet"
TORCHVISION_URL = "https://download.pytorch.org/models/"
TIMM_URL = "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/"
_HEX = re.compile(r"^[0-9a-f]{8,64}$")
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")  # torch.hub's own rule: the digest's prefix after the last '-'


@dataclass(frozen=True)
class PublishedWeights:
    """One published file. ``name`` is what ``SOURCE:NAME`` selects (``mobilenet_v2.IMAGENET1K_V2``);
    ``sha256`` is the full digest or a prefix of at least 8 hex digits (torchvision's and timm's file names
    carry one); ``layout`` is ``name`` when the tensor names are edgeconv's, ``order`` when they are matched
    by order and shape (torchvision's and timm's names differ from edgeconv's)."""

    source: str
    name: str
    width: float
    url: str
    sha256: str
    layout: str = "order"

    def __post_init__(self) -> None:
        if self.source not in SOURCES or self.layout not in LAYOUTS or not _HEX.match(self.sha256):
            raise ValueError(f"bad published-weights entry {self.tag}: {self.source}, {self.layout}, {self.sha256}")

    @property
    def tag(self) -> str:
        """``torchvision:mobilenet_v2.IMAGENET1K_V2``: how ``--weights`` names this file."""
        return f"{self.source}:{self.name}"

    @property
    def filename(self) -> str:
        """The file's name in the torch hub cache (the URL's last part, as torch.hub stores it)."""
        return self.url.rsplit("/", 1)[-1]

    def matches(self, name: str) -> bool:
        """``timm:tf_efficientnet_lite0`` selects ``tf_efficientnet_lite0.in1k``: a name without its tag."""
        return name in (self.name, self.name.split(".", 1)[0])


def _hash_in(filename: str) -> str:
    found = _HASH_IN_NAME.findall(filename)
    if not found:
        raise ValueError(f"{filename} carries no sha256 prefix")
    return found[-1]


def torchvision_file(name: str, width: float, filename: str) -> PublishedWeights:
    """A file of torchvision's (``download.pytorch.org/models/FILENAME``), checked by the prefix in its name."""
    return PublishedWeights("torchvision", name, width, TORCHVISION_URL + filename, _hash_in(filename))


def timm_file(name: str, width: float, filename: str) -> PublishedWeights:
    """A file of timm's GitHub releases, checked by the sha256 prefix in its name."""
    return PublishedWeights("timm", name, width, TIMM_URL + filename, _hash_in(filename))


@dataclass(frozen=True)
class WeightsChoice:
    """What ``--weights`` resolved to for one family and width: a published file or a local path."""

    published: PublishedWeights | None = None
    path: Path | None = None

    @property
    def width(self) -> float | None:
        """The width the weights were trained at (None for a local file: its shapes say)."""
        return self.published.width if self.published else None


def is_published_name(text: str) -> bool:
    """Whether ``--weights`` names a published file (``imagenet``, ``torchvision:...``, ``timm:...``)."""
    return text == IMAGENET or (":" in text and text.split(":", 1)[0] in SOURCES)


def weights_for(text: str | None, family: str) -> str | None:
    """A family's entry of ``--weights``: the whole text, or its ``FAMILY=SOURCE`` part when the text maps
    families to sources (``mobilenetv2=imagenet,mnasnet=runs/mnasnet.pt``); None when the map leaves it out."""
    if not text or "=" not in text:
        return text or None
    entries = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    if len(entries) != len(text.split(",")):
        raise UsageError(f"--weights {text!r}: give one source, or FAMILY=SOURCE entries separated by commas")
    return entries.get(family)


def choose_weights(text: str, family: str, width: float, table: tuple[PublishedWeights, ...]) -> WeightsChoice:
    """Resolve ``--weights TEXT`` for ``family`` at ``width`` from the family's ``table``.

    ``imagenet`` picks the file at ``width`` if there is one, else the narrowest wider one (the fewest
    channels to drop), first listed first. A width wider than every published file is refused: adding
    channels would need new weights that the published network never learnt.
    """
    if not is_published_name(text):
        return WeightsChoice(path=Path(text).expanduser())
    if not table:
        raise UsageError(f"{family} has no published pretrained weights here; train it from scratch (omit --weights)")
    if text == IMAGENET:
        wide_enough = [entry for entry in table if entry.width >= width - 1e-9]
        if not wide_enough:
            widest = max(entry.width for entry in table)
            raise UsageError(
                f"{family} width {width:g} is wider than its widest published weights ({widest:g}); "
                f"sweep widths up to {widest:g} or train from scratch (omit --weights)"
            )
        narrowest = min(entry.width for entry in wide_enough)
        return WeightsChoice(published=next(e for e in wide_enough if e.width == narrowest))
    source, name = text.split(":", 1)
    for entry in table:
        if entry.source == source and entry.matches(name):
            if entry.width < width - 1e-9:
                raise UsageError(f"{entry.tag} is width {entry.width:g}, narrower than width {width:g}")
            return WeightsChoice(published=entry)
    known = ", ".join(entry.tag for entry in table)
    raise UsageError(f"no published weights {text!r} for {family}; known: {known}")


def describe_init(init: dict[str, Any]) -> str:
    """Where a checkpoint's initial weights came from, in words (``init`` as ``edgeconv.train.transfer`` records
    it; records written before it carry no ``origin``)."""
    origin = init.get("origin") or ("scratch" if init.get("source") == "random-init" else "file")
    head = ", new classifier head" if init.get("head_reinitialised") else ""
    if origin == "published":
        return f"published {init['source']} (width {init['width']:g}{head})"
    if origin == "derived":
        where = init["source"] if init["source"] != "file" else Path(init["path"]).name
        derivation = init.get("derivation") or {}
        refitted = ", refitted" if derivation.get("reconstructed_layers") else ""
        how = f"{derivation.get('criterion', '')}{refitted}{head}"
        return f"derived from {where} width {init['derived_from_width']:g} ({how})"
    if origin == "file":
        return f"{Path(init['path']).name} (matched by {init.get('matched_by', 'name')}{head})"
    return "random initialisation"
