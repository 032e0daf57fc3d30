"""What the workstation and a device send each other for ``eval --target``: prepared images one way (an
``.npz``), logits and the device fingerprint the other way (one JSON line)."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np


def encode_images(images: np.ndarray, preprocessing: dict[str, Any]) -> bytes:
    """Prepared uint8 images and the preprocessing that normalises them, as ``.npz`` bytes."""
    buffer = io.BytesIO()
    np.savez(buffer, images=images, preprocessing=np.array(json.dumps(preprocessing)))
    return buffer.getvalue()


def decode_images(data: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """The images and preprocessing of an :func:`encode_images` file (a path or a file object)."""
    with np.load(data) as arrays:
        return np.asarray(arrays["images"]), json.loads(str(arrays["preprocessing"]))


def encode_logits(logits: np.ndarray, device: dict[str, Any]) -> str:
    buffer = io.BytesIO()
    np.save(buffer, logits.astype(np.float32))
    return json.dumps({"logits_npy": base64.b64encode(buffer.getvalue()).decode(), "device": device})


def decode_logits(line: str) -> tuple[np.ndarray, dict[str, Any]]:
    payload = json.loads(line)
    return np.asarray(np.load(io.BytesIO(base64.b64decode(payload["logits_npy"])))), payload["device"]
