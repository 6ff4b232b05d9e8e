"""Pascal VOC AP at IoU 0.5, the number DIOR / DOTA-hbb papers report next to COCO's AP50.

Two references, each reproduced rule for rule: MMDetection's ``eval_map`` (``voc_ap``, the
record's ``map50_voc``) and DOTA_devkit's ``dota_evaluation_task2.py`` (``devkit_task2_map``,
the record's ``map50_dota``: 11-point, ``+1`` IoU, strict threshold, mean over all classes).

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


def per_image_from_coco(coco_gt: dict, detections: Sequence[dict]
                        ) -> tuple[list[dict], list[dict], int]:
    """``(detections, ground truth, number of classes)`` per image in image-id order, from
    per-image detections (``image_id``, 0-based labels) and a COCO ground truth (``ignore: 1``
    = difficult); images without detections count as empty."""
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
    return [found.get(i, empty) for i in ids], [truth[i] for i in ids], len(cat_ids)


def voc_map_from_coco(coco_gt: dict, detections: Sequence[dict], iou_thr: float = 0.5,
                      mode: str = "area") -> float:
    """Mean VOC AP (``voc_ap``) over the classes with normal ground truth, NaN if none; the
    inputs as ``per_image_from_coco`` takes them."""
    aps = voc_ap(*per_image_from_coco(coco_gt, detections), iou_thr, mode)
    valid = [a for a in aps if not math.isnan(a)]
    return float(np.mean(valid)) if valid else math.nan


#: ``dota_evaluation_task2.py``'s ``classnames``: the order its ``main`` adds the APs up in.
DEVKIT_CLASSNAMES = ("plane", "baseball-diamond", "bridge", "ground-track-field",
                     "small-vehicle", "large-vehicle", "ship", "tennis-court",
                     "basketball-court", "storage-tank", "soccer-ball-field", "roundabout",
                     "harbor", "swimming-pool", "helicopter")


def devkit_map_from_coco(coco_gt: dict, detections: Sequence[dict]) -> float:
    """DOTA_devkit's task-2 mAP (``devkit_task2_map``); inputs as ``per_image_from_coco``.

    For the DOTA v1.0 classes the APs are summed in the devkit's class order (floating-point
    addition is not associative: another order can differ in the last bit).
    """
    _, aps = devkit_task2_map(*per_image_from_coco(coco_gt, detections))
    names = [c["name"] for c in sorted(coco_gt["categories"], key=lambda c: c["id"])]
    if sorted(names) == sorted(DEVKIT_CLASSNAMES):
        aps = [aps[names.index(name)] for name in DEVKIT_CLASSNAMES]
    total = 0.0
    for ap in aps:
        total = total + ap
    return float(total / len(aps)) if aps else math.nan


def devkit_iou(box: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of one box with ``gt`` boxes, the devkit's way: ``+1`` on every side length."""
    iw = np.maximum(np.minimum(gt[:, 2], box[2]) - np.maximum(gt[:, 0], box[0]) + 1.0, 0.0)
    ih = np.maximum(np.minimum(gt[:, 3], box[3]) - np.maximum(gt[:, 1], box[1]) + 1.0, 0.0)
    inter = iw * ih
    union = ((box[2] - box[0] + 1.0) * (box[3] - box[1] + 1.0)
             + (gt[:, 2] - gt[:, 0] + 1.0) * (gt[:, 3] - gt[:, 1] + 1.0) - inter)
    return inter / union


def devkit_ap_11(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC 2007 11-point AP summed as the devkit sums it (``np.arange(0., 1.1, 0.1)``: the
    thresholds 0.30000000000000004, 0.6000000000000001 and 0.7000000000000001 are not 0.3...)."""
    ap = 0.0
    for t in np.arange(0.0, 1.1, 0.1):
        ap = ap + (0.0 if np.sum(recall >= t) == 0 else float(np.max(precision[recall >= t]))) / 11.0
    return float(ap)


def devkit_class_ap(detections: Sequence[dict], ground_truth: Sequence[dict], k: int,
                    iou_thr: float) -> float:
    """AP of class ``k`` by ``voc_eval`` of DOTA_devkit's ``dota_evaluation_task2.py``."""
    truth, hard, taken = [], [], []
    for gt in ground_truth:
        g = np.asarray(gt["labels"]).reshape(-1) == k
        # parse_gt reads the corners as int(float(v)): truncated toward zero
        truth.append(np.trunc(np.asarray(gt["boxes"], dtype=np.float64).reshape(-1, 4)[g]))
        hard.append(np.asarray(gt.get("difficult", np.zeros(len(g))), dtype=bool).reshape(-1)[g])
        taken.append(np.zeros(int(g.sum()), dtype=bool))
    npos = sum(int((~h).sum()) for h in hard)
    image_of, boxes, scores = [], [], []
    for i, det in enumerate(detections):
        d = np.asarray(det["labels"]).reshape(-1) == k
        boxes.append(np.asarray(det["boxes"], dtype=np.float64).reshape(-1, 4)[d])
        scores.append(np.asarray(det["scores"], dtype=np.float64).reshape(-1)[d])
        image_of += [i] * int(d.sum())
    if not boxes:
        return 0.0
    all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
    order = np.argsort(-all_scores)  # numpy's default sort, as the devkit (ties: its order)
    tp, fp = np.zeros(len(order)), np.zeros(len(order))
    for rank, j in enumerate(order):
        i = image_of[j]
        if len(truth[i]) == 0:
            fp[rank] = 1
            continue
        overlaps = devkit_iou(all_boxes[j], truth[i])
        best = int(np.argmax(overlaps))
        if overlaps[best] > iou_thr:  # strictly above
            if not hard[i][best]:
                if taken[i][best]:
                    fp[rank] = 1
                else:
                    tp[rank], taken[i][best] = 1, True
        else:
            fp[rank] = 1
    if npos == 0:
        return 0.0  # the devkit's recall is 0/0 = nan there: every threshold gives 0
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    return devkit_ap_11(tp / float(npos), tp / np.maximum(tp + fp, np.finfo(np.float64).eps))


def devkit_task2_map(detections: Sequence[dict], ground_truth: Sequence[dict],
                     num_classes: int, iou_thr: float = 0.5) -> tuple[float, list[float]]:
    """DOTA_devkit's horizontal-box (task 2) mAP: ``(mean over all classes, per-class APs)``.

    ``dota_evaluation_task2.py``'s ``main`` calls ``voc_eval(..., ovthresh=0.5,
    use_07_metric=True)`` per class and averages over every class: VOC 2007's 11-point AP;
    detections of a class sorted by descending score over all images (``np.argsort``); each
    takes the ground-truth box of its image of highest IoU, with ``+1`` pixel side lengths;
    strictly above ``iou_thr`` that box makes it a true positive if normal and not taken, a
    false positive if taken, nothing if difficult; otherwise a false positive. Ground-truth
    corners are truncated to integers (``int(float(v))``). A class without normal boxes scores
    0 and stays in the mean (the devkit's ``0/0`` recall compares false everywhere). Where the
    devkit fails (a class without any detection: it cannot index an empty array) this gives
    that class the AP its empty curve has, 0.

    Args:
        detections: one dict per image, ``{"boxes" xyxy, "scores", "labels" 0-based}``, in the
            same order as ``ground_truth`` (the detection-file order of equal scores).
        ground_truth: one dict per image, ``{"boxes" xyxy, "labels" 0-based, "difficult"}``.
        num_classes: number of classes (all of them enter the mean).
        iou_thr: the devkit's ``ovthresh``.
    """
    if len(detections) != len(ground_truth):
        raise ValueError(f"{len(detections)} detection sets for {len(ground_truth)} images")
    aps = [devkit_class_ap(detections, ground_truth, k, iou_thr) for k in range(num_classes)]
    return float(sum(aps) / num_classes), aps
