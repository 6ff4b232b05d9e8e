"""Segmentation scores equal mmseg 1.2.2's ``IoUMetric`` (mIoU, IoU, mFscore, aAcc).

Expected values are counted by hand, recomputed by a plain numpy transcription of mmseg's
formulas, and, where mmsegmentation is installed, taken from mmseg's own two static methods.
"""

import ast
import importlib.util
import math
import typing
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from rsbench.config import load_task, tasks_dir
from rsbench.tasks.segmentation import (
    METRIC_REFERENCES,
    confusion_metric,
    scores,
    scores_from_confusion,
)

# Two 2x3 masks, 3 classes, one ignore pixel (255) each.
TARGET = torch.tensor([[[0, 0, 1], [1, 2, 255]],
                       [[2, 2, 255], [0, 1, 1]]])
PRED = torch.tensor([[[0, 1, 1], [1, 2, 0]],
                     [[2, 0, 2], [0, 1, 2]]])
# Counted by hand, rows = target, columns = prediction (ignore pixels dropped):
HAND_CM = torch.tensor([[2, 1, 0],
                        [0, 3, 1],
                        [1, 0, 2]])
# One 3x4 image, 5 classes: class 3 labelled once and predicted once but never both (no
# intersect), class 4 absent from both, two ignore pixels whose predictions (2, 0) count nowhere.
TARGET2 = torch.tensor([[[0, 0, 1, 255], [1, 2, 3, 255], [2, 2, 0, 1]]])
PRED2 = torch.tensor([[[0, 3, 1, 2], [1, 2, 0, 0], [2, 1, 0, 1]]])


def test_isaid_tasks_cite_the_metric_references():
    for name in ("isaid_frozen", "isaid_finetune"):
        task = load_task(tasks_dir() / "segmentation" / f"{name}.yaml")
        assert task.metrics["report"] == METRIC_REFERENCES
    keys = set(scores(PRED, TARGET, 3, classes=["x", "y", "z"]))
    assert keys == {"miou", "mf1", "overall_accuracy", "iou_x", "iou_y", "iou_z"}
    assert set(METRIC_REFERENCES) == {"miou", "mf1", "overall_accuracy", "iou_<class>"}


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
    # F1 = 2PR / (P + R) = 2TP / (row + col): 4/6, 6/8, 4/6
    assert s["mf1"] == pytest.approx((2 / 3 + 0.75 + 2 / 3) / 3)
    assert s["overall_accuracy"] == pytest.approx(7 / 10)


def test_absent_class_ignore_pixels_and_zero_intersect_by_hand():
    s = scores(PRED2, TARGET2, 5, classes=["a", "b", "c", "d", "e"])
    # labelled (ignore dropped): a 3, b 3, c 3, d 1 = 10; predicted: a 3, b 4, c 2, d 1;
    # intersect: a 2, b 3, c 2, d 0
    assert s["overall_accuracy"] == pytest.approx(7 / 10)
    assert s["iou_a"] == pytest.approx(2 / 4) and s["iou_b"] == pytest.approx(3 / 4)
    assert s["iou_c"] == pytest.approx(2 / 3) and s["iou_d"] == 0.0  # 0 / (1 + 1 - 0)
    assert math.isnan(s["iou_e"])  # absent from both: 0 / 0, left out of the mean
    assert s["miou"] == pytest.approx((1 / 2 + 3 / 4 + 2 / 3 + 0) / 4)
    # F-score a 2*2/6, b 2*3/7, c 2*2/5; d has P = R = 0, so 0 / 0: mmseg leaves it out
    assert s["mf1"] == pytest.approx((2 / 3 + 6 / 7 + 4 / 5) / 3)


def test_class_predicted_but_never_labelled_counts_in_miou_not_in_mf1():
    cm = torch.zeros(4, 4, dtype=torch.long)
    cm[:3, :3] = HAND_CM
    cm[0, 3] = 1  # one class-0 pixel predicted as class 3, which never occurs in the target
    s = scores_from_confusion(cm)
    assert s["iou_3"] == 0.0
    assert s["iou_0"] == pytest.approx(2 / 5)
    assert s["miou"] == pytest.approx((0.4 + 0.6 + 0.5 + 0.0) / 4)
    # class 3: precision 0 / 1, recall 0 / 0 -> NaN; class 0: 2 * 2 / (4 + 3)
    assert s["mf1"] == pytest.approx((4 / 7 + 0.75 + 2 / 3) / 3)


def test_logits_are_argmaxed():
    logits = torch.nn.functional.one_hot(PRED, 3).permute(0, 3, 1, 2).float()
    assert scores(logits, TARGET, 3) == scores(PRED, TARGET, 3)


def test_label_outside_the_classes_is_an_error():
    with pytest.raises(ValueError, match="label value 7 is neither a class"):
        scores(PRED, torch.where(TARGET == 2, 7, TARGET), 3)


def mmseg_formulas(preds: np.ndarray, labels: np.ndarray, k: int, ignore: int = 255) -> dict:
    """mmseg's IoUMetric written out in numpy: per-image areas, summed, then the ratios."""
    inter, union, pred, lab = (np.zeros(k) for _ in range(4))
    for p, t in zip(preds, labels, strict=True):
        keep = t != ignore
        p, t = p[keep], t[keep]
        i = np.bincount(p[p == t], minlength=k)[:k]
        a_p, a_t = np.bincount(p, minlength=k)[:k], np.bincount(t, minlength=k)[:k]
        inter, pred, lab, union = inter + i, pred + a_p, lab + a_t, union + a_p + a_t - i
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
        precision, recall = inter / pred, inter / lab
        fscore = 2 * precision * recall / (precision + recall)
        return {"aAcc": inter.sum() / lab.sum(), "IoU": iou, "mIoU": np.nanmean(iou),
                "mFscore": np.nanmean(fscore)}


def rsbench_streamed(preds: np.ndarray, labels: np.ndarray, k: int) -> dict:
    metric = confusion_metric(k)
    for p, t in zip(preds, labels, strict=True):
        metric.update(torch.from_numpy(p)[None], torch.from_numpy(t)[None])
    return scores_from_confusion(metric.compute())


def random_case(seed: int, k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Images where class k-1 never occurs, class k-2 is only predicted, ~10% ignored."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k - 2, size=(5, 17, 23))
    preds = np.where(rng.random(labels.shape) < 0.6, labels, rng.integers(0, k - 1, labels.shape))
    labels[rng.random(labels.shape) < 0.1] = 255
    return preds, labels


@pytest.mark.parametrize("seed", range(5))
def test_random_predictions_equal_mmseg_formulas(seed):
    preds, labels = random_case(seed)
    ref, got = mmseg_formulas(preds, labels, 6), rsbench_streamed(preds, labels, 6)
    assert math.isnan(got["iou_5"]) and got["iou_4"] == 0.0
    assert got["miou"] == pytest.approx(ref["mIoU"], abs=1e-12)
    assert got["mf1"] == pytest.approx(ref["mFscore"], abs=1e-12)
    assert got["overall_accuracy"] == pytest.approx(ref["aAcc"], abs=1e-12)
    assert [got[f"iou_{c}"] for c in range(6)] == pytest.approx(list(ref["IoU"]), nan_ok=True)


def mmseg_static_methods():
    """``IoUMetric.intersect_and_union`` / ``total_area_to_metrics`` from the installed mmseg
    source, compiled alone (importing mmseg needs mmcv); None when mmseg is not installed."""
    spec = importlib.util.find_spec("mmseg")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "evaluation" / "metrics" / "iou_metric.py"
    cls = next(n for n in ast.parse(path.read_text()).body
               if isinstance(n, ast.ClassDef) and n.name == "IoUMetric")
    wanted = [f for f in cls.body if isinstance(f, ast.FunctionDef)
              and f.name in ("intersect_and_union", "total_area_to_metrics")]
    for f in wanted:
        f.decorator_list = []
    namespace = {"torch": torch, "np": np, "OrderedDict": OrderedDict, "List": list,
                 "Optional": typing.Optional}  # what the two signatures name
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(path), "exec"), namespace)
    return namespace["intersect_and_union"], namespace["total_area_to_metrics"]


@pytest.mark.parametrize("seed", range(3))
def test_random_predictions_equal_mmseg_itself(seed):
    methods = mmseg_static_methods()
    if methods is None:
        pytest.skip("mmsegmentation not installed (pip install --no-deps mmsegmentation==1.2.2)")
    intersect_and_union, total_area_to_metrics = methods
    preds, labels = random_case(seed)
    areas = [intersect_and_union(torch.from_numpy(p), torch.from_numpy(t), 6, 255)
             for p, t in zip(preds, labels, strict=True)]
    totals = [sum(a[i] for a in areas) for i in range(4)]
    ref = total_area_to_metrics(*totals, ["mIoU", "mFscore"], None, 1)
    got = rsbench_streamed(preds, labels, 6)
    # mmseg sums float32 histograms: agreement to float32 precision
    assert got["miou"] == pytest.approx(float(np.nanmean(ref["IoU"])), rel=1e-6)
    assert got["mf1"] == pytest.approx(float(np.nanmean(ref["Fscore"])), rel=1e-6)
    assert got["overall_accuracy"] == pytest.approx(float(ref["aAcc"]), rel=1e-6)
    assert [got[f"iou_{c}"] for c in range(6)] == pytest.approx(
        ref["IoU"].tolist(), rel=1e-6, nan_ok=True)
