"""Semantic segmentation: datasets, protocols it supports, and its metrics.

Metrics follow mmseg's ``IoUMetric`` from one confusion matrix accumulated over the whole test
set (never averaged per image): per-class IoU = TP / (TP + FP + FN), mIoU = mean over classes,
per-class F1 = 2TP / (2TP + FP + FN) (= 2PR / (P + R)) and mF1 its mean, overall accuracy =
sum(TP) / labelled pixels.
Pixels labelled ``ignore_index`` (255) count nowhere. A class absent from both prediction and
target has an undefined IoU (0 / 0) and is left out of the mean, exactly as mmseg's ``nanmean``
does; a class predicted but absent from the target scores IoU 0 and counts. The same rule holds
for F1. One stated departure: mmseg computes F1 from precision and recall and so also drops a
class that is never predicted (precision 0 / 0) from mF1; here such a class scores F1 0, which
never inflates mF1. All values are fractions in [0, 1]; an undefined per-class IoU is reported as NaN.

Distributed evaluation: the matrix lives in a torchmetrics ``MulticlassConfusionMatrix`` whose
state is summed across processes when ``compute()`` is called (on every rank). The protocols
evaluate with ``Trainer.predict``, for which Lightning shards the test set with an *unrepeated*
distributed sampler, so no pixel is counted twice; a caller who feeds the metric through a
padding ``DistributedSampler`` would double-count the padded samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torchmetrics.classification import MulticlassConfusionMatrix

TYPE = "segmentation"
PROTOCOLS = {
    "frozen": "rsbench.protocols.segmentation_frozen",
    "finetune": "rsbench.protocols.segmentation_finetune",
}
METRICS = ("miou", "mf1", "overall_accuracy")
IGNORE_INDEX = 255


def build_data(task, data_root: Path, cache_dir: Path, download: bool,
               train_transform: Callable | None = None):
    """The task's train/val/test datasets with their split file and fingerprint."""
    from rsbench.data.segmentation import build_segmentation_data

    return build_segmentation_data(
        task.dataset, Path(data_root), Path(cache_dir) / "splits", download=download,
        train_transform=train_transform,
    )


def confusion_metric(num_classes: int, ignore_index: int = IGNORE_INDEX) -> MulticlassConfusionMatrix:
    """A streaming, DDP-synced confusion matrix (rows: target, columns: prediction)."""
    return MulticlassConfusionMatrix(num_classes, ignore_index=ignore_index, validate_args=False)


def _nanmean(values: torch.Tensor) -> float:
    valid = values[~torch.isnan(values)]
    return float(valid.mean()) if valid.numel() else math.nan


def scores_from_confusion(cm: torch.Tensor, classes: Sequence[str] | None = None) -> dict[str, float]:
    """mIoU, mF1, overall accuracy and ``iou_<class>`` from a ``[K, K]`` (target x pred) matrix."""
    cm = cm.double()
    tp = cm.diag()
    area_label, area_pred = cm.sum(dim=1), cm.sum(dim=0)
    union = area_label + area_pred - tp
    iou = tp / union  # 0/0 -> NaN: absent from both, excluded from the mean
    f1 = 2 * tp / (area_label + area_pred)  # = 2PR / (P + R); NaN only when absent from both
    total = float(area_label.sum())
    names = list(classes) if classes is not None else [str(i) for i in range(len(tp))]
    out = {"miou": _nanmean(iou), "mf1": _nanmean(f1),
           "overall_accuracy": float(tp.sum()) / total if total else math.nan}
    out.update({f"iou_{name}": float(v) for name, v in zip(names, iou, strict=True)})
    return out


def scores(preds: torch.Tensor, target: torch.Tensor, num_classes: int,
           classes: Sequence[str] | None = None) -> dict[str, float]:
    """Scores of predicted masks ``[N, H, W]`` (or logits ``[N, K, H, W]``) against ``target``."""
    if preds.ndim == target.ndim + 1:
        preds = preds.argmax(dim=1)
    metric = confusion_metric(num_classes)
    metric.update(preds, target)
    return scores_from_confusion(metric.compute(), classes)
