"""The one preprocessing definition shared by training, evaluation, calibration and the device.

An image goes through two steps. ``prepare``: to RGB, resize the shorter side to ``resolution`` and
centre-crop a square (uint8, HxWx3). ``normalize``: scale to [0, 1], subtract ``mean``, divide by ``std``
and lay out as NCHW or NHWC float32. Training does its augmentation between the two steps. The definition
is recorded in checkpoints and artifact sidecars, so a device reproduces it with numpy and Pillow only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgeconv.errors import UsageError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """Resize + centre-crop to ``resolution``, then normalise with ``mean``/``std`` (on [0, 1] pixels)."""

    resolution: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    layout: str = "NCHW"
    resize: str = "shorter-side-bilinear+center-crop"

    def __post_init__(self) -> None:
        if self.layout not in ("NCHW", "NHWC"):
            raise UsageError(f"layout must be NCHW or NHWC, got {self.layout!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lists, not tuples, so that a record equals its JSON round-trip)."""
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_dict`; missing fields take the defaults (ImageNet statistics, NCHW)."""
        return cls(
            resolution=int(data["resolution"]),
            mean=tuple(data.get("mean", IMAGENET_MEAN)),
            std=tuple(data.get("std", IMAGENET_STD)),
            layout=data.get("layout", "NCHW"),
            resize=data.get("resize", cls.resize),
        )

    def with_layout(self, layout: str) -> Preprocessing:
        return Preprocessing(self.resolution, self.mean, self.std, layout, self.resize)

    def prepare(self, image: Any) -> np.ndarray:
        """A PIL image or an HxW / HxWx{1,3,4} uint8 array -> ``resolution`` x ``resolution`` x 3 uint8."""
        from PIL import Image

        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8:
                raise UsageError(f"image arrays must be uint8, got {image.dtype}")
            image = Image.fromarray(image.squeeze(-1) if image.ndim == 3 and image.shape[2] == 1 else image)
        image = _eight_bit(image).convert("RGB")
        width, height = image.size
        scale = self.resolution / min(width, height)
        new_size = (max(self.resolution, round(width * scale)), max(self.resolution, round(height * scale)))
        image = image.resize(new_size, Image.Resampling.BILINEAR)
        left = (new_size[0] - self.resolution) // 2
        top = (new_size[1] - self.resolution) // 2
        image = image.crop((left, top, left + self.resolution, top + self.resolution))
        return np.asarray(image, dtype=np.uint8)

    def normalize(self, images: np.ndarray) -> np.ndarray:
        """uint8 NxHxWx3 (or one HxWx3) -> float32 in ``layout`` (a single image gets a batch axis)."""
        if images.ndim == 3:
            images = images[None]
        scaled = images.astype(np.float32) / np.float32(255.0)
        x = (scaled - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2) if self.layout == "NCHW" else x)

    def __call__(self, image: Any) -> np.ndarray:
        """``normalize(prepare(image))``: one image -> a batch of one, ready for ``Session.run``."""
        return self.normalize(self.prepare(image))


def _eight_bit(image: Any) -> Any:
    """16-bit images scaled to 8 bits (PIL's RGB conversion clips them: a 16-bit PNG became almost all white),
    32-bit integer images likewise when values above 255 occur, float images taken as [0, 1] (or [0, 255] when
    larger values occur)."""
    from PIL import Image

    if image.mode not in ("I", "F") and not image.mode.startswith("I;16"):
        return image
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        scale = 255.0 if values.size and values.max() <= 1.0 else 1.0
    elif image.mode.startswith("I;16"):
        scale = 1 / 257
    else:  # 32-bit integers: 16-bit data when values above 255 occur
        scale = 1 / 257 if values.size and values.max() > 255 else 1.0
    return Image.fromarray(np.clip(np.round(values * scale), 0, 255).astype(np.uint8), "L")
