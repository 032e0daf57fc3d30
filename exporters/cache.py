"""A small in-process cache for float conversions that several precisions of one export start from
(the float .tflite before fp16/int8, the fp32 ONNX before int8), keyed by the weights' content."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable

import torch

_CACHE: OrderedDict[tuple[str, str, tuple[int, ...]], bytes] = OrderedDict()
MAX_ENTRIES = 4


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer, in state-dict order."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def cached_conversion(kind: str, model: torch.nn.Module, example: torch.Tensor, convert: Callable[[], bytes]) -> bytes:
    """``convert()``'s result for this model content and input shape, computed once per process."""
    key = (kind, weights_digest(model), tuple(example.shape))
    if key not in _CACHE:
        _CACHE[key] = convert()
        while len(_CACHE) > MAX_ENTRIES:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return _CACHE[key]
