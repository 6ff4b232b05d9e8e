"""Multi-label scene classification (BigEarthNet): datasets, protocols, and the metrics BigEarthNet
papers report.

Each image has a set of labels, given as a ``{0, 1}`` vector over ``num_labels``. A model gives
one score per label: a probe head's logits (probabilities are their sigmoids) or a kNN's vote.
Reported, as fractions in [0, 1]:

- ``map_macro`` / ``map_micro``: average precision (area under the precision-recall steps, no
  interpolation) per label then averaged, or over all (image, label) pairs pooled: torchmetrics'
  ``multilabel_average_precision``, which BigEarthNet v2's reference code (ConfigILM) uses;
- ``f1_macro`` / ``f1_micro``: F1 of the labels whose probability is above 0.5 (torchmetrics'
  ``preds > threshold``), per label averaged or pooled.

A label without a positive test image has no average precision; torchmetrics (and so ConfigILM)
counts it as 0 in the macro mean, and so does rsbench, to give the reference's number;
:func:`unscored_labels` names such labels; a record lists their class names in
``data.classes_without_test_positive``.

Protocols: ``linear_probe`` (the classification probe head trained with :func:`probe_loss`,
binary cross-entropy on the logits) and ``knn`` (each label the similarity-weighted vote of the
neighbours' labels, scored by :func:`knn_scores`; ``rsbench/protocols/knn.py``). Both read the
frozen features through ``rsbench.protocols.frozen_features``. And ``finetune``
(``rsbench/protocols/multilabel_finetune.py``: encoder + head trained with :func:`probe_loss`,
scored on the logits).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch
from torchmetrics.functional.classification import (
    multilabel_average_precision,
    multilabel_f1_score,
)

from rsbench.errors import MetricUndefined, SpecError
from rsbench.registry import Registry

TYPE = "multilabel"
#: What each ``protocol.name`` means for this type (lazy: listing imports nothing).
PROTOCOLS = Registry.of("multi-label protocol", {
    "linear_probe": "rsbench.protocols.linear_probe",
    "knn": "rsbench.protocols.knn",
    "finetune": "rsbench.protocols.multilabel_finetune:FINETUNE",
})
METRICS = ("map_macro", "map_micro", "f1_macro", "f1_micro")
#: Probability above which a label is predicted (F1).
THRESHOLD = 0.5
TORCHMETRICS = "torchmetrics multilabel_average_precision (ConfigILM's BigEarthNet v2 metric)"
#: The reference each metric equals (cited by task files in ``metrics.report``).
METRIC_REFERENCES = {
    "map_macro": f"{TORCHMETRICS}, average='macro' (a label without positives counts 0)",
    "map_micro": f"{TORCHMETRICS}, average='micro'",
    "f1_macro": "torchmetrics multilabel_f1_score, threshold 0.5, average='macro'",
    "f1_micro": "torchmetrics multilabel_f1_score, threshold 0.5, average='micro'",
}


def build_data(task, data_root: Path, cache_dir: Path, download: bool,
               train_transform: Callable | None = None):
    """The task's train/val/test datasets with their split file and fingerprint.

    Raises:
        RegistryError: an unknown dataset (the message lists them).
        SpecError: a dataset whose images have one label each.
    """
    from rsbench.data.build import dataset_root
    from rsbench.data.catalog import DATASETS, dataset_adapter
    from rsbench.data.multilabel_patches import PatchAdapter, build_patch_data

    adapter = dataset_adapter(task.dataset.name)  # the one dataset registry
    if not adapter.multilabel:
        known = [n for n in DATASETS if DATASETS.get(n).multilabel]  # imports each adapter
        raise SpecError(f"{task.path or task.task}: dataset {task.dataset.name!r} is not multi-label "
                        f"(multi-label datasets: {', '.join(known)})")
    patches = cast(PatchAdapter, adapter)  # every multi-label adapter reads patches
    return build_patch_data(patches, task.dataset, dataset_root(task.dataset, Path(data_root)),
                            Path(cache_dir) / "splits", download, train_transform)


def probe_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The probe head's loss: binary cross-entropy on the logits, averaged over every (image,
    label) pair (``torch.nn.BCEWithLogitsLoss()``, as ConfigILM trains BigEarthNet heads)."""
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, target.float())


def unscored_labels(target: torch.Tensor) -> list[int]:
    """Labels with no positive image in ``target``: their average precision is undefined."""
    return [int(i) for i in torch.nonzero(target.sum(dim=0) == 0).flatten()]


def scores(logits: torch.Tensor, target: torch.Tensor, num_labels: int) -> dict[str, float]:
    """The four metrics from ``[N, num_labels]`` logits and ``{0, 1}`` targets.

    Raises:
        MetricUndefined: no image to score, or no positive label at all in ``target``.
    """
    return probability_scores(logits.float().sigmoid(), target, num_labels)


def knn_scores(votes: torch.Tensor, target: torch.Tensor, num_labels: int) -> dict[str, float]:
    """The four metrics from ``[N, num_labels]`` kNN votes in [0, 1] (each label's share of the
    neighbours' similarity weight): the vote is the label's probability.

    Raises:
        MetricUndefined: as :func:`scores`.
    """
    return probability_scores(votes.float(), target, num_labels)


def probability_scores(probs: torch.Tensor, target: torch.Tensor, num_labels: int
                       ) -> dict[str, float]:
    """The four metrics from ``[N, num_labels]`` probabilities in [0, 1] and ``{0, 1}`` targets.

    Raises:
        MetricUndefined: as :func:`scores`.
    """
    if len(target) == 0 or not bool(target.any()):
        raise MetricUndefined("the split scored has no image with a label: multi-label mAP is "
                              "undefined (an empty or unlabelled test split?)")
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
