"""The model zoo: edge classifiers and the classic baselines, at any width multiplier, any resolution, any
number of classes."""

from __future__ import annotations

from edgeconv.models import (  # noqa: F401  (importing a family's module registers it)
    alexnet,
    densenet,
    efficientnet_lite,
    googlenet,
    inception_v3,
    mnasnet,
    mobilenetv1,
    mobilenetv2,
    mobilenetv3,
    regnet,
    resnet,
    shufflenetv2,
    squeezenet,
    vgg,
    xception,
)
from edgeconv.models.factory import ModelInfo, create_model, model_info
from edgeconv.models.registry import list_models, register_model

__all__ = ["ModelInfo", "create_model", "list_models", "model_info", "register_model"]
