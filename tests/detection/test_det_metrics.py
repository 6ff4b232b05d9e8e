"""COCO box AP against a hand-computed case, both evaluators, difficult objects VOC-style."""

import importlib.util
import math

import numpy as np
import pytest

from rsbench.tasks.detection import box_iou_xywh, coco_scores, ground_truth_for_eval

NO_PYCOCOTOOLS = importlib.util.find_spec("pycocotools") is None
needs_pycocotools = pytest.mark.skipif(NO_PYCOCOTOOLS, reason="pycocotools (dev extra) not installed")
BACKENDS = ("faster_coco_eval", pytest.param("pycocotools", marks=needs_pycocotools))


def gt_dict(difficult: bool = False) -> dict:
    anns = [([0, 0, 10, 10], 1, 1), ([20, 20, 10, 10], 1, 1), ([0, 0, 10, 10], 2, 1)]
    if difficult:
        anns.append(([40, 40, 10, 10], 2, 1))
    return {"images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
            "annotations": [{"id": i + 1, "image_id": img, "category_id": c, "bbox": b,
                             "area": b[2] * b[3], "iscrowd": 0, "ignore": int(i == 3)}
                            for i, (b, img, c) in enumerate(anns)],
            "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}


def dets(*extra) -> list[dict]:
    """Class a: d1 TP (.9), d2 duplicate FP (.8), d3 TP at IoU 0.833 (.7), d4 FP (.6)."""
    rows = [(1, [0, 0, 10, 10], .9), (1, [0, 0, 10, 10], .8), (2, [0, 0, 10, 12], .7),
            (2, [50, 50, 60, 60], .6), *extra]
    return [{"image_id": img, "boxes": np.array([box], float), "scores": np.array([s]),
             "labels": np.array([0])} for img, box, s in rows]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hand_computed_ap(backend):
    out = coco_scores(gt_dict(), dets(), backend=backend)
    # TP FP TP FP over 3 GT: envelope 1 up to recall 1/3 (34 of 101 thresholds), 2/3 up to 2/3 (33)
    assert out["map50"] == pytest.approx(56 / 101)
    assert out["ap50_a"] == pytest.approx(56 / 101)
    assert math.isnan(out["ap50_b"])  # no ground truth: undefined, left out of the mean
    # d3 (IoU 100/120) is a TP for IoU 0.50..0.80 (7 thresholds), an FP for 0.85..0.95 (AP 34/101)
    assert out["map"] == pytest.approx((7 * 56 + 3 * 34) / 1010)


@pytest.mark.parametrize("backend", BACKENDS)
def test_difficult_box_is_neither_miss_nor_false_positive(backend):
    # two detections on the difficult box of image 2: both ignored, recall over 3 boxes only
    extra = [(2, [40, 40, 50, 50], .65), (2, [41, 40, 50, 50], .64)]
    assert coco_scores(gt_dict(True), dets(*extra), backend=backend)["map50"] == pytest.approx(56 / 101)
    # a small box inside the difficult one: plain IoU 0.25 < 0.5 makes it an FP as in VOC (COCO's
    # crowd overlap, intersection / detection area = 1, would have ignored it)
    inside = (2, [40, 40, 45, 45], .95)
    out = coco_scores(gt_dict(True), dets(*extra, inside), backend=backend)
    # FP TP FP TP FP: precision 0, 1/2, 1/3, 1/2, 2/5 -> envelope 1/2 up to recall 2/3 (67 points)
    assert out["map50"] == pytest.approx(67 * 0.5 / 101)


@needs_pycocotools
def test_backends_agree_on_random_predictions():
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "detection_eval.py"
    spec = importlib.util.spec_from_file_location("detection_eval_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    gt, predictions = bench.synthetic(30, 8, 30, classes=5, seed=3)
    a = coco_scores(gt, predictions, backend="pycocotools")
    b = coco_scores(gt, predictions, backend="faster_coco_eval")
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-12, nan_ok=True)


@needs_pycocotools
def test_stock_pycocotools_matches_without_difficult():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO()
    gt.dataset = ground_truth_for_eval(gt_dict())
    gt.createIndex()
    results = [{"image_id": d["image_id"], "category_id": 1, "score": float(d["scores"][0]),
                "bbox": [*d["boxes"][0][:2], *(d["boxes"][0][2:] - d["boxes"][0][:2])]}
               for d in dets()]
    ev = COCOeval(gt, gt.loadRes(results), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    out = coco_scores(gt_dict(), dets())
    assert out["map"] == pytest.approx(ev.stats[0])
    assert out["map50"] == pytest.approx(ev.stats[1])


def test_no_detections_scores_zero():
    out = coco_scores(gt_dict(), [])
    assert out["map50"] == 0.0 and out["ap50_a"] == 0.0 and math.isnan(out["ap50_b"])


def test_ignore_flag_becomes_crowd_and_plain_iou():
    gt = ground_truth_for_eval(gt_dict(True))
    assert [a["iscrowd"] for a in gt["annotations"]] == [0, 0, 0, 1]
    iou = box_iou_xywh(np.array([[0, 0, 10, 12.0]]), np.array([[0, 0, 10, 10.0]]))
    assert iou[0, 0] == pytest.approx(100 / 120)
