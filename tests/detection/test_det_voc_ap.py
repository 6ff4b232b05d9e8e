"""VOC AP50 (all-point and 11-point) by hand, and against MMDetection's ``eval_map`` (the code
RVSA / MTP scored DIOR with) on random detections with difficult boxes, when mmdet is present;
DOTA_devkit's task-2 mAP (``dota_evaluation_task2.py``) on cases worked out by hand from its
``voc_eval`` / ``voc_ap`` code."""

import importlib.util
import math

import numpy as np
import pytest

from rsbench.tasks.detection import coco_scores
from rsbench.tasks.voc_ap import (
    average_precision,
    devkit_task2_map,
    voc_ap,
    voc_map_from_coco,
)

A, B, HARD = [0, 0, 10, 10], [30, 30, 40, 40], [60, 60, 70, 70]
TRUTH = [{"boxes": [A, B, HARD], "labels": [0, 0, 0], "difficult": [False, False, True]}]
# .9 TP on A, .8 FP (nothing there), .7 on the difficult box (ignored), .6 TP on B, .5 duplicate on A
DETS = [{"boxes": [A, [80, 0, 90, 10], HARD, B, [0, 0, 10, 11]], "scores": [.9, .8, .7, .6, .5],
         "labels": [0] * 5}]


def test_hand_case_all_point_and_11_point():
    # recall .5 .5 .5 1 1, precision 1 .5 .5 2/3 .5 (the ignored detection adds neither TP nor FP)
    assert voc_ap(DETS, TRUTH, 1) == pytest.approx([0.5 * 1 + 0.5 * (2 / 3)])
    assert voc_ap(DETS, TRUTH, 1, mode="11points") == pytest.approx([(6 * 1 + 5 * (2 / 3)) / 11])


def test_class_without_ground_truth_is_nan_and_out_of_the_mean():
    assert math.isnan(voc_ap(DETS, TRUTH, 2)[1])
    coco = {"images": [{"id": 1, "width": 100, "height": 100}],
            "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
            "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1,
                             "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "ignore": int(b == HARD)}
                            for i, b in enumerate(TRUTH[0]["boxes"])]}
    per_image = [{**DETS[0], "image_id": 1}]
    assert voc_map_from_coco(coco, per_image) == pytest.approx(0.5 + 1 / 3)
    scores = coco_scores(coco, per_image)
    assert scores["map50_voc"] == pytest.approx(0.5 + 1 / 3) and 0 < scores["map50"] <= 1
    # devkit: 11-point AP (6 * 1 + 5 * 2/3) / 11 for class a; class b has no box: AP 0, and the
    # mean is over both classes
    assert scores["map50_dota"] == pytest.approx((6 + 5 * (2 / 3)) / 11 / 2)


def test_average_precision_of_a_perfect_curve_is_one():
    assert average_precision(np.array([0.5, 1.0]), np.array([1.0, 1.0])) == 1.0
    with pytest.raises(ValueError, match="area"):
        average_precision(np.array([1.0]), np.array([1.0]), "voc12")


def random_set(seed: int, images: int = 30, classes: int = 3):
    rng = np.random.default_rng(seed)

    def boxes(n):
        xy = rng.uniform(0, 80, (n, 2))
        return np.hstack([xy, xy + rng.uniform(5, 30, (n, 2))])

    truth, dets = [], []
    for _ in range(images):
        n = int(rng.integers(0, 6))
        gt = boxes(n)
        truth.append({"boxes": gt, "labels": rng.integers(0, classes, n),
                      "difficult": rng.random(n) < 0.2})
        m = int(rng.integers(0, 10))
        jitter = gt[rng.integers(0, max(n, 1), m)] + rng.normal(0, 3, (m, 4)) if n else boxes(m)
        db = np.where(rng.random((m, 1)) < 0.7, jitter, boxes(m))
        dets.append({"boxes": db, "scores": rng.random(m), "labels": rng.integers(0, classes, m)})
    return truth, dets


@pytest.mark.skipif(importlib.util.find_spec("mmdet") is None, reason="mmdet absent: make setup-mmdet")
@pytest.mark.parametrize("mode", ["area", "11points"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_mmdet_eval_map(seed, mode):
    from mmdet.evaluation.functional import eval_map

    truth, dets = random_set(seed)
    classes = 3
    det_results = [[np.hstack([d["boxes"][d["labels"] == k], d["scores"][d["labels"] == k, None]])
                    for k in range(classes)] for d in dets]
    annotations = [{"bboxes": t["boxes"][~t["difficult"]], "labels": t["labels"][~t["difficult"]],
                    "bboxes_ignore": t["boxes"][t["difficult"]],
                    "labels_ignore": t["labels"][t["difficult"]]} for t in truth]
    mean_ap, per_class = eval_map(det_results, annotations, iou_thr=0.5, nproc=1, eval_mode=mode,
                                  logger="silent")
    ours = voc_ap(dets, truth, classes, mode=mode)
    assert ours == pytest.approx([float(r["ap"]) for r in per_class], abs=1e-6)
    assert np.nanmean(ours) == pytest.approx(mean_ap, abs=1e-6)


def one_class(boxes, scores, truth, difficult=None) -> float:
    dets = [{"boxes": boxes, "scores": scores, "labels": [0] * len(boxes)}]
    gt = [{"boxes": truth, "labels": [0] * len(truth),
           "difficult": difficult if difficult is not None else [False] * len(truth)}]
    return devkit_task2_map(dets, gt, 1)[0]


def test_devkit_hand_case_is_11_point():
    # the sequence of the all-point hand case: recall .5 .5 .5 1 1, precision 1 .5 .5 2/3 .5;
    # thresholds 0 .. .5 see precision 1, .6 .. 1 see 2/3
    assert devkit_task2_map(DETS, TRUTH, 1) == (pytest.approx((6 + 5 * (2 / 3)) / 11),
                                                [pytest.approx((6 + 5 * (2 / 3)) / 11)])


def test_devkit_recall_thresholds_are_numpy_arange_values():
    # 3 of 10 boxes found without a false positive: recall 0.3 < 0.30000000000000004, the
    # fourth threshold of np.arange(0., 1.1, 0.1): AP 3/11, not 4/11
    truth = [[20 * i, 0, 20 * i + 9, 9] for i in range(10)]
    assert one_class(truth[:3], [0.9, 0.8, 0.7], truth) == pytest.approx(3 / 11)


def test_devkit_iou_adds_one_pixel_and_is_strict():
    gt = [[0, 0, 9, 9]]  # 10 x 10 px with the devkit's +1
    # [0, 0, 9, 4]: 10 x 5 px, IoU exactly 0.5: not above the threshold, a false positive
    assert one_class([[0, 0, 9, 4]], [0.9], gt) == 0.0
    # [0, 0, 3, 1.4] against [0, 0, 3, 3]: plain IoU 4.2 / 9 = 0.47, the devkit's 4 x 2.4 / 16 = 0.6
    assert one_class([[0, 0, 3, 1.4]], [0.9], [[0, 0, 3, 3]]) == pytest.approx(1.0)
    # ground-truth corners are truncated as read: [0.9, 0, 1.9, 9] is [0, 0, 1, 9], IoU 1 with
    # the detection (untruncated it would be 11 / 29)
    assert one_class([[0, 0, 1, 9]], [0.9], [[0.9, 0, 1.9, 9]]) == pytest.approx(1.0)


def test_devkit_best_box_taken_is_a_false_positive_and_difficult_is_ignored():
    gt = [[0, 0, 9, 9], [2, 0, 11, 9]]
    # both detections' best box is the first (IoU 1); the second is a duplicate, not matched to
    # the other box (IoU 0.67): recall .5 .5, precision 1 .5 -> (6 * 1) / 11
    assert one_class([[0, 0, 9, 9], [0, 0, 9, 9]], [0.9, 0.8], gt) == pytest.approx(6 / 11)
    # a detection on a difficult box counts for nothing; no normal box: AP 0, not NaN
    assert one_class([[0, 0, 9, 9]], [0.9], [[0, 0, 9, 9]], [True]) == 0.0
    assert one_class(np.zeros((0, 4)), [], [[0, 0, 9, 9]]) == 0.0


def test_devkit_mean_adds_up_in_the_devkits_class_order(monkeypatch):
    import rsbench.tasks.voc_ap as voc
    from rsbench.data.detection import DOTA_CLASSES

    # rsbench's DOTA label order is torchgeo's (ship, ..., bridge, ..., small-vehicle); the
    # devkit adds bridge, small-vehicle, ship: (0.2 + 0.3) + 0.1 = 0.6, whereas
    # (0.1 + 0.2) + 0.3 = 0.6000000000000001
    aps = {"ship": 0.1, "bridge": 0.2, "small-vehicle": 0.3}
    per_label = [aps.get(name, 0.0) for name in DOTA_CLASSES]
    monkeypatch.setattr(voc, "devkit_task2_map", lambda *a: (None, per_label))
    coco = {"images": [], "annotations": [],
            "categories": [{"id": i + 1, "name": n} for i, n in enumerate(DOTA_CLASSES)]}
    assert voc.devkit_map_from_coco(coco, []) == 0.6 / 15
