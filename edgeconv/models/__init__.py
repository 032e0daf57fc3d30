"""The model zoo: mobile classifiers at any width multiplier, any resolution, any number of classes."""

from __future__ import annotations

from edgeconv.models import efficientnet_lite, mnasnet, mobilenetv2  # noqa: F401  (registers the families)
from edgeconv.models.factory import ModelInfo, create_model, model_info
from edgeconv.models.registry import list_models, register_model

__all__ = ["ModelInfo", "create_model", "list_models", "model_info", "register_model"]
