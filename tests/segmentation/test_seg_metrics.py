import math

import pytest
import torch

from rsbench.tasks.segmentation import confusion_metric, scores, scores_from_confusion

# Two 2x3 masks, 3 classes, one ignore pixel (255) each.
TARGET = torch.tensor([[[0, 0, 1], [1, 2, 255]],
                       [[2, 2, 255], [0, 1, 1]]])
PRED = torch.tensor([[[0, 1, 1], [1, 2, 0]],
                     [[2, 0, 2], [0, 1, 2]]])
# Counted by hand, rows = target, columns = prediction (ignore pixels dropped):
HAND_CM = torch.tensor([[2, 1, 0],
                        [0, 3, 1],
                        [1, 0, 2]])


def test_confusion_matrix_matches_hand_count():
    metric = confusion_metric(3)
    for p, t in zip(PRED, TARGET, strict=True):  # streaming, one image at a time
        metric.update(p[None], t[None])
    assert torch.equal(metric.compute(), HAND_CM)


def test_scores_match_hand_computed_values():
    s = scores(PRED, TARGET, 3, classes=["a", "b", "c"])
    # IoU = TP / (row + col - TP): a 2/(3+3-2), b 3/(4+4-3), c 2/(3+3-2)
    assert s["iou_a"] == pytest.approx(0.5)
    assert s["iou_b"] == pytest.approx(0.6)
    assert s["iou_c"] == pytest.approx(0.5)
    assert s["miou"] == pytest.approx(1.6 / 3)
    # F1 = 2TP / (row + col): 4/6, 6/8, 4/6
    assert s["mf1"] == pytest.approx((2 / 3 + 0.75 + 2 / 3) / 3)
    assert s["overall_accuracy"] == pytest.approx(7 / 10)


def test_logits_are_argmaxed():
    logits = torch.nn.functional.one_hot(PRED, 3).permute(0, 3, 1, 2).float()
    assert scores(logits, TARGET, 3) == pytest.approx(scores(PRED, TARGET, 3))


def test_class_absent_from_pred_and_target_is_excluded_from_the_mean():
    s = scores(PRED, TARGET, 4)
    assert math.isnan(s["iou_3"])
    assert s["miou"] == pytest.approx(1.6 / 3)
    assert s["mf1"] == pytest.approx((2 / 3 + 0.75 + 2 / 3) / 3)


def test_class_predicted_but_absent_from_target_counts_as_zero():
    cm = torch.zeros(4, 4, dtype=torch.long)
    cm[:3, :3] = HAND_CM
    cm[0, 3] = 1  # one class-0 pixel predicted as class 3, which never occurs in the target
    s = scores_from_confusion(cm)
    assert s["iou_3"] == 0.0
    assert s["iou_0"] == pytest.approx(2 / 5)
    assert s["miou"] == pytest.approx((0.4 + 0.6 + 0.5 + 0.0) / 4)
