"""Multi-label scene classification (BigEarthNet): its metrics, as BigEarthNet papers report them.

Each image has a set of labels, given as a ``{0, 1}`` vector over ``num_labels``. A model gives
one logit per label; probabilities are their sigmoids. Reported, as fractions in [0, 1]:

- ``map_macro`` / ``map_micro``: average precision (area under the precision-recall steps, no
  interpolation) per label then averaged, or over all (image, label) pairs pooled: torchmetrics'
  ``multilabel_average_precision``, which BigEarthNet v2's reference code (ConfigILM) uses;
- ``f1_macro`` / ``f1_micro``: F1 at probability 0.5, per label averaged or pooled.

A label without a positive test image has no average precision; torchmetrics (and so ConfigILM)
counts it as 0 in the macro mean, and so does rsbench, to give the reference's number;
:func:`unscored_labels` names such labels for the record. Not yet a registered task type: the
BCE linear probe, multi-label kNN and fine-tune protocols are still to come.
"""

from __future__ import annotations

import torch
from torchmetrics.functional.classification import (
    multilabel_average_precision,
    multilabel_f1_score,
)

from rsbench.errors import MetricUndefined

TYPE = "multilabel"
METRICS = ("map_macro", "map_micro", "f1_macro", "f1_micro")
#: Probability at and above which a label is predicted (F1).
THRESHOLD = 0.5


def unscored_labels(target: torch.Tensor) -> list[int]:
    """Labels with no positive image in ``target``: their average precision is undefined."""
    return [int(i) for i in torch.nonzero(target.sum(dim=0) == 0).flatten()]


def scores(logits: torch.Tensor, target: torch.Tensor, num_labels: int) -> dict[str, float]:
    """The four metrics from ``[N, num_labels]`` logits and ``{0, 1}`` targets.

    Raises:
        MetricUndefined: no image to score, or no positive label at all in ``target``.
    """
    if len(target) == 0 or not bool(target.any()):
        raise MetricUndefined("the split scored has no image with a label: multi-label mAP is "
                              "undefined (an empty or unlabelled test split?)")
    probs = logits.float().sigmoid()
    target = target.long()
    ap = {average: multilabel_average_precision(probs, target, num_labels, average=average,
                                                validate_args=False)
          for average in ("macro", "micro")}
    return {
        "map_macro": float(ap["macro"]),
        "map_micro": float(ap["micro"]),
        "f1_macro": _f1(probs, target, num_labels, "macro"),
        "f1_micro": _f1(probs, target, num_labels, "micro"),
    }


def _f1(probs: torch.Tensor, target: torch.Tensor, num_labels: int, average: str) -> float:
    return float(multilabel_f1_score(probs, target, num_labels, threshold=THRESHOLD,
                                     average="macro" if average == "macro" else "micro",
                                     validate_args=False))
