"""Scene classification: datasets, protocols it supports, and its metrics.

Metrics are overall accuracy (top-1, the number the RS papers report) and average accuracy
(mean per-class recall, robust to class imbalance), both as fractions in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torchmetrics.functional.classification import multiclass_accuracy

from rsbench.registry import Registry

TYPE = "classification"
#: What each ``protocol.name`` means for this type (lazy: listing imports nothing).
PROTOCOLS = Registry.of("classification protocol", {
    "linear_probe": "rsbench.protocols.linear_probe",
    "knn": "rsbench.protocols.knn",
    "finetune": "rsbench.protocols.finetune:FINETUNE",
})
METRICS = ("overall_accuracy", "average_accuracy")


def build_data(task, data_root: Path, cache_dir: Path, download: bool,
               train_transform: Callable | None = None):
    """The task's train/val/test datasets with their split file and fingerprint."""
    from rsbench.data import build_classification_data

    return build_classification_data(
        task.dataset, Path(data_root), Path(cache_dir) / "splits", download=download,
        train_transform=train_transform,
    )


def scores(preds: torch.Tensor, target: torch.Tensor, num_classes: int) -> dict[str, float]:
    """Overall and average accuracy from predicted class indices (or logits).

    Raises:
        MetricUndefined: no sample to score (an empty split, e.g. too few images per class
            for the ratio split).
    """
    if len(target) == 0:
        from rsbench.errors import MetricUndefined

        raise MetricUndefined("the split scored is empty: no image to compute accuracy on "
                              "(too few images per class for the split's ratios?)")
    if preds.ndim == 2:
        preds = preds.argmax(dim=1)
    return {
        "overall_accuracy": float(multiclass_accuracy(preds, target, num_classes, average="micro",
                                                      validate_args=False)),
        "average_accuracy": float(multiclass_accuracy(preds, target, num_classes, average="macro",
                                                      validate_args=False)),
    }
