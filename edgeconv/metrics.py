"""Classification metrics on numpy logits (shared by training, evaluation and export gates)."""

from __future__ import annotations

import numpy as np


def topk_accuracy(logits: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of rows whose label is among the ``k`` largest logits (k is capped at the class count)."""
    k = min(k, logits.shape[1])
    top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``matrix[true, predicted]`` counts."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def agreement(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """How closely ``other`` logits follow ``reference``: top-1 agreement and absolute logit error."""
    diff = np.abs(reference.astype(np.float64) - other.astype(np.float64))
    return {
        "top1_agreement": float((reference.argmax(1) == other.argmax(1)).mean()),
        "max_abs_logit_diff": float(diff.max()),
        "mean_abs_logit_diff": float(diff.mean()),
    }
