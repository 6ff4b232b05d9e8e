"""Pascal VOC AP at IoU 0.5, the number DIOR / DOTA-hbb papers report next to COCO's AP50.

RVSA and MTP score DIOR with MMDetection's ``eval_map`` on an XML dataset whose ``dataset``
argument is the class list, which selects VOC 2010+'s all-point interpolation (``mode="area"``);
``mode="11points"`` is VOC 2007's. Matching is the VOC devkit's, as in ``eval_map``'s
``tpfp_default``: per image, detections in descending score order each take the ground-truth box
of highest IoU; above ``iou_thr`` that box makes the detection a true positive if it is normal
and not yet taken, a false positive if already taken, and the detection is ignored (neither) if
the box is difficult; otherwise the detection is a false positive. Difficult boxes do not count
as positives. Boxes are pixel ``xyxy`` with plain (not +1) areas, ``eval_map``'s default.

A class without a (normal) ground-truth box has an undefined AP (NaN) and is left out of the
mean, as in ``eval_map`` and rsbench's COCO scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plain IoU ``[len(a), len(b)]`` of pixel ``xyxy`` boxes."""
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def image_tp_fp(boxes: np.ndarray, scores: np.ndarray, gt: np.ndarray, difficult: np.ndarray,
                iou_thr: float) -> tuple[np.ndarray, np.ndarray]:
    """0/1 true- and false-positive flags of one image's detections of one class (score order
    descending, as returned); both 0 for a detection ignored on a difficult box."""
    order = np.argsort(-scores, kind="stable")
    tp, fp = np.zeros(len(boxes)), np.zeros(len(boxes))
    if len(gt) == 0:
        fp[:] = 1
        return tp, fp
    ious = iou_xyxy(boxes[order], gt)
    taken = np.zeros(len(gt), dtype=bool)
    for i, row in enumerate(ious):
        best = int(np.argmax(row))
        if row[best] < iou_thr:
            fp[i] = 1
        elif not difficult[best]:
            if taken[best]:
                fp[i] = 1
            else:
                tp[i], taken[best] = 1, True
    return tp, fp


def average_precision(recall: np.ndarray, precision: np.ndarray, mode: str = "area") -> float:
    """VOC AP from a PR curve: ``area`` (all points, VOC 2010+) or ``11points`` (VOC 2007)."""
    if mode == "11points":
        return float(np.mean([precision[recall >= t].max() if (recall >= t).any() else 0.0
                              for t in np.linspace(0, 1, 11)]))
    if mode != "area":
        raise ValueError(f"mode {mode!r}: use 'area' or '11points'")
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]  # precision envelope
    steps = np.nonzero(r[1:] != r[:-1])[0]
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def voc_ap(detections: Sequence[dict], ground_truth: Sequence[dict], num_classes: int,
           iou_thr: float = 0.5, mode: str = "area") -> list[float]:
    """Per-class VOC AP.

    Args:
        detections: one dict per image, ``{"boxes" xyxy, "scores", "labels" 0-based}``, in the
            same order as ``ground_truth``.
        ground_truth: one dict per image, ``{"boxes" xyxy, "labels" 0-based, "difficult"}``.
        num_classes: number of classes.
        iou_thr: matching threshold.
        mode: ``area`` or ``11points``.
    """
    if len(detections) != len(ground_truth):
        raise ValueError(f"{len(detections)} detection sets for {len(ground_truth)} images")
    out = []
    for k in range(num_classes):
        scores, tps, fps, positives = [], [], [], 0
        for det, gt in zip(detections, ground_truth, strict=True):
            d = np.asarray(det["labels"]).reshape(-1) == k
            g = np.asarray(gt["labels"]).reshape(-1) == k
            gt_boxes = np.asarray(gt["boxes"], dtype=np.float64).reshape(-1, 4)[g]
            hard = np.asarray(gt.get("difficult", np.zeros(len(g))), dtype=bool).reshape(-1)[g]
            positives += int((~hard).sum())
            s = np.asarray(det["scores"], dtype=np.float64).reshape(-1)[d]
            tp, fp = image_tp_fp(np.asarray(det["boxes"], dtype=np.float64).reshape(-1, 4)[d],
                                 s, gt_boxes, hard, iou_thr)
            scores.append(np.sort(s)[::-1])
            tps.append(tp)
            fps.append(fp)
        if positives == 0:
            out.append(math.nan)
            continue
        order = np.argsort(-np.concatenate(scores), kind="stable")
        tp, fp = np.concatenate(tps)[order].cumsum(), np.concatenate(fps)[order].cumsum()
        recall = tp / positives
        precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        out.append(average_precision(recall, precision, mode))
    return out


def voc_map_from_coco(coco_gt: dict, detections: Sequence[dict], iou_thr: float = 0.5,
                      mode: str = "area") -> float:
    """Mean VOC AP of per-image detections (``image_id``, 0-based labels) against a COCO
    ground truth (``ignore: 1`` = difficult); images without detections count as empty."""
    cat_ids = sorted(c["id"] for c in coco_gt["categories"])
    label = {c: i for i, c in enumerate(cat_ids)}
    truth: dict[int, dict] = {im["id"]: {"boxes": [], "labels": [], "difficult": []}
                              for im in coco_gt["images"]}
    for ann in coco_gt["annotations"]:
        x, y, w, h = ann["bbox"]
        t = truth[ann["image_id"]]
        t["boxes"].append([x, y, x + w, y + h])
        t["labels"].append(label[ann["category_id"]])
        t["difficult"].append(bool(ann.get("ignore", 0) or ann.get("iscrowd", 0)))
    found = {int(d["image_id"]): d for d in detections}
    empty = {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, dtype=int)}
    ids = sorted(truth)
    aps = voc_ap([found.get(i, empty) for i in ids], [truth[i] for i in ids], len(cat_ids),
                 iou_thr, mode)
    valid = [a for a in aps if not math.isnan(a)]
    return float(np.mean(valid)) if valid else math.nan
