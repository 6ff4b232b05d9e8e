"""Multi-label metrics against a hand computation (4 images, 3 labels, the third never present)."""

import pytest
import torch

from rsbench.errors import MetricUndefined
from rsbench.tasks.multilabel import scores, unscored_labels

PROBS = torch.tensor([[0.9, 0.2, 0.15], [0.8, 0.7, 0.35], [0.3, 0.6, 0.25], [0.1, 0.55, 0.45]])
TARGET = torch.tensor([[1, 0, 0], [0, 0, 0], [1, 1, 0], [0, 1, 0]])


def test_map_and_f1_equal_the_hand_computation():
    got = scores(torch.logit(PROBS.double()).float(), TARGET, 3)
    # AP label 0: ranks + - + -  -> (1/1 + 2/3) / 2; label 1: - + + - -> (1/2 + 2/3) / 2;
    # label 2 has no positive: 0 in torchmetrics' (ConfigILM's) macro mean.
    ap0, ap1 = (1 + 2 / 3) / 2, (1 / 2 + 2 / 3) / 2
    assert got["map_macro"] == pytest.approx((ap0 + ap1 + 0.0) / 3, abs=1e-6)
    # Micro: 12 pairs by score (no ties): .9+ .8- .7- .6+ .55+ .45- .35- .3+ .25- .2- .15- .1-;
    # positives at ranks 1, 4, 5, 8 -> (1/1 + 2/4 + 3/5 + 4/8) / 4.
    assert got["map_micro"] == pytest.approx((1 + 2 / 4 + 3 / 5 + 4 / 8) / 4, abs=1e-6)
    # F1 at 0.5: label 0 TP1 FP1 FN1 -> 0.5; label 1 TP2 FP1 FN0 -> 0.8; label 2 no TP, FP,
    # FN -> 0 (torchmetrics' zero_division); micro TP3 FP2 FN1 -> 6/9.
    assert got["f1_macro"] == pytest.approx((0.5 + 0.8 + 0.0) / 3, abs=1e-6)
    assert got["f1_micro"] == pytest.approx(6 / 9, abs=1e-6)
    assert unscored_labels(TARGET) == [2]


def test_nothing_to_score_is_undefined():
    with pytest.raises(MetricUndefined, match="no image with a label"):
        scores(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long), 3)
