"""Where training and evaluation run: ``--device auto|cpu|cuda|mps``, and the mixed precision that is safe there.

auto takes CUDA, then Apple's MPS, then the CPU. On CUDA, training runs in bf16 autocast where the GPU has bf16
(Ampere and later) and in fp16 autocast with a gradient scaler otherwise, with channels-last memory and pinned,
non-blocking host-to-device copies; on the CPU and MPS it stays in fp32. Checkpoints are saved from the CPU
either way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from edgeconv.errors import UsageError

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Placement:
    """A torch device and how to train on it."""

    device: torch.device
    autocast: torch.dtype | None  # None: fp32

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.cuda else torch.contiguous_format

    def move(self, model: nn.Module) -> nn.Module:
        """``model`` on this device, in its memory format (in place)."""
        moved: Any = model  # Module.to takes memory_format; its type stubs do not say so
        return moved.to(self.device, memory_format=self.memory_format)

    def describe(self) -> str:
        precision = {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}[self.autocast]
        name = torch.cuda.get_device_name(self.device) if self.cuda else self.device.type
        return f"{name} ({precision})"


def _mps() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available(name: str) -> bool:
    """Whether ``name`` (cpu, cuda or mps) can be used here."""
    return name == "cpu" or (name == "cuda" and torch.cuda.is_available()) or (name == "mps" and _mps())


def placement(name: str = "auto", amp: bool = True, local_rank: int | None = None) -> Placement:
    """The device ``name`` names (the process's own GPU under torchrun), with autocast where ``amp`` and safe."""
    if name not in DEVICES:
        raise UsageError(f"unknown device {name!r}: choose one of {', '.join(DEVICES)}")
    if name == "auto":
        name = next(n for n in ("cuda", "mps", "cpu") if available(n))
    if not available(name):
        raise UsageError(f"device {name} is not available here (torch {torch.__version__} sees no {name.upper()})")
    if name != "cuda":
        return Placement(torch.device(name), None)
    index = int(os.environ.get("LOCAL_RANK", 0)) if local_rank is None else local_rank
    if index >= torch.cuda.device_count():
        raise UsageError(f"process {index} has no GPU: {torch.cuda.device_count()} visible")
    device = torch.device("cuda", index)
    torch.cuda.set_device(device)
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if amp else None
    return Placement(device, dtype)


def device_count(name: str) -> int:
    """How many processes ``--nproc`` may start on ``name``: one per GPU, or one per core on the CPU."""
    if name in ("auto", "cuda") and torch.cuda.is_available():
        return torch.cuda.device_count()
    if name == "mps":
        return 1
    return os.cpu_count() or 1
