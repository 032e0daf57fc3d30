"""Parity of an exported file against the PyTorch model it came from, measured with the device runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgeconv.runtime import load


def parity_inputs(shape: tuple[int, ...], count: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Seeded standard-normal NCHW batches of ``shape`` (the model's normalised input scale)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]


def measure_parity(model: torch.nn.Module, path: Path, inputs: list[np.ndarray]) -> dict[str, Any]:
    """Run ``inputs`` through the PyTorch model and the exported file; compare logits.

    Returns the max and mean absolute logit difference, the largest reference logit (the scale the
    difference is relative to) and the top-1 agreement.
    """
    session = load(path, threads=1)
    diffs, scale, agree = [], 0.0, 0
    with torch.no_grad():
        for x in inputs:
            reference = model(torch.from_numpy(x)).numpy()
            exported = session.run(x).astype(np.float32)
            diffs.append(np.abs(reference - exported))
            scale = max(scale, float(np.abs(reference).max()))
            agree += int((reference.argmax(1) == exported.argmax(1)).sum())
    all_diffs = np.concatenate([d.ravel() for d in diffs])
    return {
        "reference": "pytorch",
        "samples": len(inputs),
        "max_abs_diff": float(all_diffs.max()),
        "mean_abs_diff": float(all_diffs.mean()),
        "max_abs_logit": scale,
        "top1_agreement": agree / sum(x.shape[0] for x in inputs),
    }
