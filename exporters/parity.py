"""Parity of an exported file against the PyTorch model it came from, measured with the device runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgeconv.metrics import agreement
from edgeconv.runtime import load


def noise_inputs(shape: tuple[int, ...], count: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Seeded standard-normal NCHW batches of ``shape`` (the normalised input scale), for untrained models."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]


def to_layout(x: np.ndarray, layout: str) -> np.ndarray:
    """An NCHW batch in ``layout``."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if layout == "NHWC" else x


def measure_parity(model: torch.nn.Module, path: Path, inputs: list[np.ndarray], kind: str) -> dict[str, Any]:
    """Run NCHW ``inputs`` through the PyTorch model and the exported file (via ``Session.run_float``, which
    quantizes int8 inputs); compare logits: max/mean absolute difference, largest reference logit, top-1
    agreement. ``kind`` says what the inputs are (real images or noise)."""
    session = load(path, threads=1)
    layout = session.input_layout()
    with torch.no_grad():
        reference = np.concatenate([model(torch.from_numpy(x)).numpy() for x in inputs])
    exported = np.concatenate([session.run_float(to_layout(x, layout)) for x in inputs])
    measured = agreement(reference, exported)
    return {
        "reference": "pytorch",
        "inputs": kind,
        "samples": len(inputs),
        "max_abs_diff": measured["max_abs_logit_diff"],
        "mean_abs_diff": measured["mean_abs_logit_diff"],
        "max_abs_logit": float(np.abs(reference).max()),
        "top1_agreement": measured["top1_agreement"],
    }
