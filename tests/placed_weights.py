"""The committed trained test model published as pretrained weights: a plain state dict named the way
torchvision names its files (``<name>-<sha256 prefix>.pth``), its table entry, and the entry put in place of
mobilenetv2's published table with the file already in the torch hub cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from tiny_artifacts import TEST_MODEL

from edgeconv.atomic import sha256_files
from edgeconv.checkpoint import load_checkpoint
from edgeconv.models import registry
from edgeconv.models.published import PublishedWeights
from edgeconv.train.hub import OFFLINE_ENV


def published_test_model(directory: Path, url: str = "http://127.0.0.1:9/") -> PublishedWeights:
    """MobileNetV2 0.35 trained on the digits at 32 px, written to ``directory`` as served from ``url``."""
    raw = directory / "raw.pth"
    torch.save(load_checkpoint(TEST_MODEL)[0].state_dict(), raw)
    digest = sha256_files(raw)
    path = directory / f"digits_mnv2-{digest[:8]}.pth"
    raw.rename(path)
    return PublishedWeights("torchvision", "digits_mnv2.TEST", 0.35, url + path.name, digest[:8], "name")


def place_as_mobilenetv2(torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> PublishedWeights:
    """The test model as mobilenetv2's only published file, cached under ``torch_home``; network off."""
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    hub = torch_home / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    entry = published_test_model(hub)
    spec = registry.get_spec("mobilenetv2")
    monkeypatch.setitem(registry._REGISTRY, "mobilenetv2", replace(spec, weights=(entry,)))
    monkeypatch.setenv(OFFLINE_ENV, "1")
    return entry
