"""Weighted k-nearest-neighbour classification on frozen, L2-normalised features.

Cosine similarity, k = 20, votes weighted by ``exp(similarity / T)`` with T = 0.07: the kNN
evaluation of DINO (Caron et al., 2021, ``eval_knn.py``) that Scale-MAE reports for RS. The
bank is train+val (nothing is tuned, so validation data is free to use); queries are test.

Multi-label tasks (labels are ``{0, 1}`` vectors): each label's vote is its share of the
neighbours' weight, ``sum_j w_j y_j / sum_j w_j`` in [0, 1]; it is the label's score, and the
label is predicted when the vote is above 0.5. That is, per label, the DINO-weighted binary kNN
that the OlmoEarth/Galileo evaluations run on BigEarthNet (``evals/knn.py``: one two-class kNN
per label, argmax of the weighted votes, a tie going to "absent"). The plugin scores the votes
(``knn_scores``).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from rsbench.protocols.base import ProtocolContext, ProtocolResult, resolved_hparams
from rsbench.protocols.frozen_features import cached_splits
from rsbench.protocols.recipes import NUMBER, recipe, recipe_sentence

RECIPE = recipe_sentence("classification", "knn")  # tasks/classification/_protocols/knn.yaml
MULTILABEL_RULE = ("; multi-label: a label's vote is its share of the neighbours' weight, "
                   "predicted above 0.5 (per-label weighted binary kNN, OlmoEarth/Galileo evals)")
SCHEMA = {"k": (int,), "temperature": NUMBER}
DEFAULTS = recipe("classification", "knn")  # tasks/classification/_protocols/knn.yaml


def knn_votes(bank: torch.Tensor, bank_labels: torch.Tensor, queries: torch.Tensor,
              num_classes: int, k: int = 20, temperature: float = 0.07,
              chunk_size: int = 1024) -> torch.Tensor:
    """``[len(queries), num_classes]`` votes of each query's ``k`` nearest neighbours, weighted
    by ``exp(similarity / T)``: summed per class for class-index labels (DINO), the weighted
    mean of the label vectors for ``{0, 1}`` ``[N, num_classes]`` labels (multi-label)."""
    bank = F.normalize(bank.float(), dim=1)
    k = min(k, len(bank))
    out = []
    for start in range(0, len(queries), chunk_size):
        q = F.normalize(queries[start:start + chunk_size].float(), dim=1)
        sims, idx = (q @ bank.T).topk(k, dim=1)
        weights = (sims / temperature).exp()
        if bank_labels.ndim == 2:
            votes = torch.einsum("qk,qkc->qc", weights, bank_labels[idx].to(weights.dtype))
            out.append(votes / weights.sum(dim=1, keepdim=True))
        else:
            votes = torch.zeros(len(q), num_classes, dtype=sims.dtype)
            out.append(votes.scatter_add_(1, bank_labels[idx], weights))
    return torch.cat(out) if out else torch.empty(0, num_classes)  # empty test split


def knn_predictions(bank: torch.Tensor, bank_labels: torch.Tensor, queries: torch.Tensor,
                    num_classes: int, k: int = 20, temperature: float = 0.07,
                    chunk_size: int = 1024) -> torch.Tensor:
    """Predicted class per query by temperature-weighted votes of its ``k`` nearest neighbours."""
    votes = knn_votes(bank, bank_labels, queries, num_classes, k, temperature, chunk_size)
    return votes.argmax(dim=1) if len(votes) else torch.empty(0, dtype=torch.long)


def run(ctx: ProtocolContext) -> ProtocolResult:
    """kNN accuracy on the test split."""
    hp = resolved_hparams(DEFAULTS, ctx.task.protocol, ctx.task.path, SCHEMA)
    splits, data, timings = cached_splits(ctx)
    (xtr, ytr), (xva, yva), (xte, yte) = splits["train"], splits["val"], splits["test"]
    start = time.perf_counter()
    from rsbench import progress

    progress.stage("kNN votes")
    k = len(data.classes)
    bank, labels = torch.cat([xtr, xva]), torch.cat([ytr, yva])
    vote_scores = getattr(ctx.plugin, "knn_scores", None)  # multi-label: scores the votes
    if vote_scores is not None:
        votes = knn_votes(bank, labels, xte, k, hp["k"], hp["temperature"])
        metrics, recipe = vote_scores(votes, yte, k), RECIPE + MULTILABEL_RULE
    else:
        preds = knn_predictions(bank, labels, xte, k, hp["k"], hp["temperature"])
        metrics, recipe = ctx.plugin.scores(preds, yte, k), RECIPE
    timings["knn_s"] = time.perf_counter() - start
    return ProtocolResult(metrics, {**hp, "recipe": recipe}, timings, data.summary())
