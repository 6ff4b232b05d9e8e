"""Horizontal-box object detection: datasets, protocols it supports, and its metrics.

Metrics are COCO's box AP computed by faster-coco-eval (a C++ re-implementation of
pycocotools' ``COCOeval`` that gives the same numbers), chosen by measurement with
``benchmarks/detection_eval.py``: 5,000 images x 20 boxes x 100 detections scored in 17.4 s
against pycocotools' 58.6 s (2-core CPU, shared), identical to 3e-17. ``map`` = AP averaged
over IoU 0.50:0.05:0.95, ``map50`` = AP at IoU 0.5 and ``ap50_<class>`` per class, all with
COCO's 101-point interpolated precision, area range ``all`` and at most 100 detections per
image. A class with no ground truth in the test set has an undefined AP (NaN) and is left out
of the means, as in COCO. ``map50_voc`` is the VOC all-point AP at IoU 0.5 that DIOR / DOTA
papers report (MMDetection's ``eval_map``; ``rsbench.tasks.voc_ap``), reported alongside, and
``map50_dota`` DOTA_devkit's ``dota_evaluation_task2.py`` (VOC07 11-point, ``+1`` IoU, mean over
all classes). ``METRIC_REFERENCES`` names the reference each metric equals; task files cite it
in ``metrics.report``, so every record's spec says what its numbers reproduce.

Difficult objects (DIOR / DOTA ``difficult``; the data contract marks them ``ignore: 1``) are
scored the VOC way: such a box is neither a miss, nor does a detection matching it count as a
false positive. Route through COCO: each ``ignore: 1`` annotation is given ``iscrowd: 1`` (the
only flag ``COCOeval`` honours; it overwrites ``ignore`` from ``iscrowd``), which makes the box
ignored and lets it absorb any number of detections (VOC ignores every detection whose best
match is difficult). COCO would then measure overlap with a crowd box as intersection over the
detection's area; ``VOCIgnoreEval`` overrides ``computeIoU`` so that every box, difficult or not,
is matched by the ordinary intersection over union, as VOC does. One stated departure from VOC:
COCO matches a detection to an unmatched normal box above the threshold before an ignored one,
whereas VOC takes the single box of highest IoU and ignores the detection if that box is
difficult; the two differ only for a detection overlapping a normal and a difficult box both
above the threshold.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rsbench.config import SpecError
from rsbench.registry import Registry

TYPE = "detection"
#: What each ``protocol.name`` means for this type (lazy: listing imports nothing).
PROTOCOLS = Registry.of("detection protocol", {
    "frozen": "rsbench.protocols.detection:FROZEN",
    "finetune": "rsbench.protocols.detection:FINETUNE",
})
METRICS = ("map50", "map", "map50_voc", "map50_dota")
#: The reference each detection metric equals on the same detections (task files cite these in
#: ``metrics.report``, so every record's spec names them).
METRIC_REFERENCES = {
    "map50": "pycocotools COCOeval AP@0.5 (faster-coco-eval), difficult boxes ignored",
    "map": "pycocotools COCOeval AP@[.5:.95] (faster-coco-eval), difficult boxes ignored",
    "map50_voc": "mmdet 3.x eval_map (mode='area', VOC all-point), difficult boxes ignored",
    "map50_dota": "DOTA_devkit dota_evaluation_task2.py voc_eval (VOC07 11-point, +1 IoU), "
                  "mean over all classes",
}
MAX_DETS = 100


def build_data(task, data_root: Path, cache_dir: Path, download: bool,
               train_transform: Callable | None = None):
    """The task's train/val/test datasets with their split file and fingerprint."""
    from rsbench.data.detection import build_detection_data

    return build_detection_data(
        task.dataset, Path(data_root), Path(cache_dir) / "splits", download=download,
        train_transform=train_transform,
    )


def _eval_class(backend: str):
    if backend == "faster_coco_eval":
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as base
    elif backend == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval as base
    else:
        raise SpecError(f"backend {backend!r}: use 'faster_coco_eval' or 'pycocotools'")

    class VOCIgnoreEval(base):
        """``COCOeval`` whose crowd (= ignored difficult) boxes are matched by plain IoU."""

        def _instances(self, img_id, cat_id) -> tuple[list[dict], list[dict]]:
            p = self.params
            cats = [cat_id] if p.useCats else p.catIds
            if backend == "faster_coco_eval":
                get = lambda ds: ds.get_instances([img_id], cats, bool(p.useCats))[0][0]  # noqa: E731
                return get(self.gt_dataset), get(self.dt_dataset)
            if p.useCats:
                return self._gts[img_id, cat_id], self._dts[img_id, cat_id]
            return ([g for c in cats for g in self._gts[img_id, c]],
                    [d for c in cats for d in self._dts[img_id, c]])

        def computeIoU(self, imgId, catId):  # noqa: N802 (COCOeval's name)
            p = self.params
            if p.iouType != "bbox":
                return super().computeIoU(imgId, catId)
            gt, dt = self._instances(imgId, catId)
            if len(gt) == 0 or len(dt) == 0:
                return []
            order = np.argsort([-d["score"] for d in dt], kind="mergesort")
            dt = [dt[i] for i in order][: p.maxDets[-1]]
            return box_iou_xywh(np.array([d["bbox"] for d in dt], dtype=np.float64),
                                np.array([g["bbox"] for g in gt], dtype=np.float64))

    return COCO, VOCIgnoreEval


def box_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plain IoU ``[len(a), len(b)]`` of COCO ``[x, y, w, h]`` boxes (pycocotools' formula)."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def ground_truth_for_eval(coco_gt: dict) -> dict:
    """A copy of a COCO ground-truth dict with ``ignore: 1`` boxes turned into ``iscrowd: 1``."""
    gt = copy.deepcopy(coco_gt)
    for ann in gt["annotations"]:
        ignore = int(bool(ann.get("ignore", 0)) or bool(ann.get("iscrowd", 0)))
        ann["iscrowd"] = ann["ignore"] = ignore
        ann.setdefault("area", float(ann["bbox"][2] * ann["bbox"][3]))
    gt.setdefault("info", {})
    gt.setdefault("licenses", [])
    return gt


def detections_to_coco(detections: Sequence[dict]) -> list[dict]:
    """Per-image ``{"image_id", "boxes" xyxy, "scores", "labels" 0-based}`` -> COCO results."""
    out = []
    for det in detections:
        boxes = np.asarray(det["boxes"], dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(det["scores"], dtype=np.float64).reshape(-1)
        labels = np.asarray(det["labels"]).reshape(-1)
        wh = boxes[:, 2:] - boxes[:, :2]
        for (x1, y1), (w, h), s, c in zip(boxes[:, :2], wh, scores, labels, strict=True):
            out.append({"image_id": int(det["image_id"]), "category_id": int(c) + 1,
                        "bbox": [float(x1), float(y1), float(w), float(h)], "score": float(s)})
    return out


def _nanmean(values) -> float:
    valid = [v for v in values if not math.isnan(v)]
    return float(np.mean(valid)) if valid else math.nan


def coco_scores(coco_gt: dict, detections: Sequence[dict], classes: Sequence[str] | None = None,
                backend: str = "faster_coco_eval") -> dict[str, float]:
    """``map50``, ``map`` and ``ap50_<class>`` of ``detections`` against a COCO ground truth,
    and ``map50_voc`` (VOC all-point AP at IoU 0.5, the DIOR/DOTA papers' number:
    ``rsbench.tasks.voc_ap``) when the detections are given per image.

    Args:
        coco_gt: COCO dict (``images``, ``annotations`` with 1-based ``category_id`` and
            optional ``ignore``, ``categories``), e.g. ``dataset.coco_ground_truth("test")``.
        detections: one dict per image (see ``detections_to_coco``) or COCO result dicts.
        classes: class names in label order; default the ground truth's category names.
        backend: ``faster_coco_eval`` (default) or ``pycocotools``; same numbers.
    """
    coco_cls, eval_cls = _eval_class(backend)
    gt = coco_cls()
    gt.dataset = ground_truth_for_eval(coco_gt)
    with contextlib.redirect_stdout(io.StringIO()):  # both libraries print progress
        gt.createIndex()
    results = list(detections)
    if results and "bbox" not in results[0]:
        results = detections_to_coco(results)
    cat_ids = sorted(c["id"] for c in gt.dataset["categories"])
    names = list(classes) if classes is not None else [
        {c["id"]: c["name"] for c in gt.dataset["categories"]}[i] for i in cat_ids]
    if not results:  # loadRes refuses an empty list: nothing detected scores 0 where GT exists
        present = {a["category_id"] for a in gt.dataset["annotations"] if not a["iscrowd"]}
        per = [0.0 if i in present else math.nan for i in cat_ids]
        return _with_voc(_scores_dict(_nanmean(per), _nanmean(per), per, names), coco_gt, detections)
    with contextlib.redirect_stdout(io.StringIO()):  # both libraries print progress
        dt = gt.loadRes(results)
        ev = eval_cls(gt, dt, "bbox")
        ev.params.maxDets = [1, 10, MAX_DETS]
        ev.evaluate()
        ev.accumulate()
    prec = np.asarray(ev.eval["precision"])  # [T iou, R recall, K class, A area, M maxDets]
    prec = prec[:, :, :, 0, -1]  # area "all", 100 detections

    def ap(p: np.ndarray) -> float:
        valid = p[p > -1]
        return float(valid.mean()) if valid.size else math.nan

    per_class50 = [ap(prec[0, :, k]) for k in range(prec.shape[2])]
    per_class = [ap(prec[:, :, k]) for k in range(prec.shape[2])]
    out = _scores_dict(_nanmean(per_class50), _nanmean(per_class), per_class50, names)
    return _with_voc(out, coco_gt, detections)


def _with_voc(out: dict, coco_gt: dict, detections: Sequence[dict]) -> dict:
    """``out`` plus ``map50_voc`` and ``map50_dota`` when the detections come per image."""
    if detections and "bbox" not in detections[0]:
        from rsbench.tasks.voc_ap import devkit_map_from_coco, voc_map_from_coco

        out["map50_voc"] = voc_map_from_coco(coco_gt, detections)
        out["map50_dota"] = devkit_map_from_coco(coco_gt, detections)
    return out


def _scores_dict(map50: float, map_: float, per_class50: Sequence[float],
                 names: Sequence[str]) -> dict[str, float]:
    out = {"map50": map50, "map": map_}
    out.update({f"ap50_{n}": float(v) for n, v in zip(names, per_class50, strict=True)})
    return out
