"""Semantic segmentation: datasets, protocols it supports, and its metrics.

Metrics are mmsegmentation 1.2.2's ``IoUMetric`` (``intersect_and_union`` per image, areas summed
over the test set, ``total_area_to_metrics``), here from one confusion matrix of the whole test
set, which holds the same sums (rows: label, columns: prediction):

- pixels labelled ``ignore_index`` (255) count nowhere;
- ``iou_<class>`` = intersect / union (mmseg ``IoU``), NaN for a class absent from both label
  and prediction (0 / 0); a class predicted but never labelled scores 0 and counts;
- ``miou`` = nanmean of those (mmseg ``mIoU``);
- ``mf1`` = nanmean of the F-score with beta 1, 2PR / (P + R) with P = intersect / predicted
  and R = intersect / labelled (mmseg ``mFscore``): a class with no intersect is NaN (0 / 0, or
  NaN precision or recall) and is left out, exactly as mmseg does;
- ``overall_accuracy`` = sum(intersect) / labelled pixels (mmseg ``aAcc``).

Values are fractions (mmseg prints them x 100, rounded to 2 decimals); mmseg sums float32
histograms, here int64 counts are exact, so the two agree to float32 precision. Label values
that are neither a class nor ignore are an error (mmseg would drop them from the label
histogram while still counting their predictions); ``reduce_zero_label`` is the dataset
reader's business, as in mmseg 1.x, where ``LoadAnnotations`` applies it.
``METRIC_REFERENCES`` names the reference each metric equals; task files cite it in
``metrics.report``, so every record's spec says what its numbers reproduce.

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

from rsbench.data.errors import DataError
from rsbench.registry import Registry

TYPE = "segmentation"
#: What each ``protocol.name`` means for this type (lazy: listing imports nothing).
PROTOCOLS = Registry.of("segmentation protocol", {
    "frozen": "rsbench.protocols.segmentation:FROZEN",
    "finetune": "rsbench.protocols.segmentation:FINETUNE",
})
METRICS = ("miou", "mf1", "overall_accuracy")
IGNORE_INDEX = 255
MMSEG = "mmsegmentation 1.2.2 IoUMetric"
#: The reference each metric equals (cited by task files in ``metrics.report``).
METRIC_REFERENCES = {
    "miou": f"{MMSEG} mIoU (nanmean of IoU over classes), as a fraction",
    "mf1": f"{MMSEG} mFscore, beta 1 (nanmean; a class with no intersect is NaN)",
    "overall_accuracy": f"{MMSEG} aAcc (sum of intersect / labelled pixels)",
    "iou_<class>": f"{MMSEG} per-class IoU (NaN when absent from label and prediction)",
}


def build_data(task, data_root: Path, cache_dir: Path, download: bool,
               train_transform: Callable | None = None):
    """The task's train/val/test datasets with their split file and fingerprint."""
    from rsbench.data.segmentation import build_segmentation_data

    return build_segmentation_data(
        task.dataset, Path(data_root), Path(cache_dir) / "splits", download=download,
        train_transform=train_transform,
    )


class LabelCheckedConfusion(MulticlassConfusionMatrix):
    """A confusion matrix that refuses label values outside ``0..K-1`` and ``ignore_index``
    (torchmetrics would fail obscurely or miscount them with ``validate_args=False``)."""

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        bad = (target != self.ignore_index) & ((target < 0) | (target >= self.num_classes))
        if bool(bad.any()):
            raise DataError(f"segmentation label value {int(target[bad][0])} is neither a class "
                             f"(0..{self.num_classes - 1}) nor ignore ({self.ignore_index}); "
                             f"the dataset's read_mask must map it")
        super().update(preds, target)


def confusion_metric(num_classes: int, ignore_index: int = IGNORE_INDEX) -> MulticlassConfusionMatrix:
    """A streaming, DDP-synced confusion matrix (rows: target, columns: prediction)."""
    return LabelCheckedConfusion(num_classes, ignore_index=ignore_index, validate_args=False)


def image_confusions(preds: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """One ``[K, K]`` (target x pred) matrix per image of ``preds``/``target`` ``[B, H, W]``.

    Per image, so that a distributed evaluation returns each test image's counts once and in
    order (:func:`rsbench.engine.predict.predict_in_order`); their sum is the set's matrix.
    Label values neither a class nor ``ignore_index`` are refused, as in the streaming metric.
    """
    k = num_classes
    out = torch.zeros(len(target), k, k, dtype=torch.int64)
    for i, (p, t) in enumerate(zip(preds, target, strict=True)):
        t, p = t.reshape(-1).long().cpu(), p.reshape(-1).long().cpu()
        keep = t != ignore_index
        bad = keep & ((t < 0) | (t >= k))
        if bool(bad.any()):
            raise DataError(f"segmentation label value {int(t[bad][0])} is neither a class "
                             f"(0..{k - 1}) nor ignore ({ignore_index}); the dataset's read_mask "
                             "must map it")
        out[i] = torch.bincount(t[keep] * k + p[keep], minlength=k * k).reshape(k, k)
    return out


def _nanmean(values: torch.Tensor) -> float:
    valid = values[~torch.isnan(values)]
    return float(valid.mean()) if valid.numel() else math.nan


def scores_from_confusion(cm: torch.Tensor, classes: Sequence[str] | None = None
                          ) -> dict[str, float]:
    """mIoU, mF1, overall accuracy and ``iou_<class>`` from a ``[K, K]`` (target x pred) matrix,
    as mmseg's ``IoUMetric`` computes them (module docstring)."""
    cm = cm.double()
    intersect = cm.diag()
    area_label, area_pred = cm.sum(dim=1), cm.sum(dim=0)
    iou = intersect / (area_label + area_pred - intersect)  # 0 / 0 -> NaN: left out of miou
    precision, recall = intersect / area_pred, intersect / area_label
    f1 = 2 * precision * recall / (precision + recall)  # NaN whenever intersect is 0, as mmseg
    total = float(area_label.sum())
    names = list(classes) if classes is not None else [str(i) for i in range(len(intersect))]
    out = {
        "miou": _nanmean(iou), "mf1": _nanmean(f1),
        "overall_accuracy": float(intersect.sum()) / total if total else math.nan}
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
