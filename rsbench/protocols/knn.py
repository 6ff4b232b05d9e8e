"""Weighted k-nearest-neighbour classification on frozen, L2-normalised features.

Cosine similarity, k = 20, votes weighted by ``exp(similarity / T)`` with T = 0.07: the kNN
evaluation of DINO (Caron et al., 2021, ``eval_knn.py``) that Scale-MAE reports for RS. The
bank is train+val (nothing is tuned, so validation data is free to use); queries are test.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from rsbench.protocols.base import ProtocolContext, ProtocolResult, resolved_hparams
from rsbench.protocols.frozen_features import cached_splits

RECIPE = "DINO eval_knn.py (Caron et al. 2021): cosine, k=20, T=0.07 weighted votes"
DEFAULTS = {"k": 20, "temperature": 0.07}


def knn_predictions(bank: torch.Tensor, bank_labels: torch.Tensor, queries: torch.Tensor,
                    num_classes: int, k: int = 20, temperature: float = 0.07,
                    chunk_size: int = 1024) -> torch.Tensor:
    """Predicted class per query by temperature-weighted votes of its ``k`` nearest neighbours."""
    bank = F.normalize(bank.float(), dim=1)
    k = min(k, len(bank))
    preds = []
    for start in range(0, len(queries), chunk_size):
        q = F.normalize(queries[start:start + chunk_size].float(), dim=1)
        sims, idx = (q @ bank.T).topk(k, dim=1)
        votes = torch.zeros(len(q), num_classes, dtype=sims.dtype)
        votes.scatter_add_(1, bank_labels[idx], (sims / temperature).exp())
        preds.append(votes.argmax(dim=1))
    return torch.cat(preds) if preds else torch.empty(0, dtype=torch.long)  # empty test split


def run(ctx: ProtocolContext) -> ProtocolResult:
    """kNN accuracy on the test split."""
    hp = resolved_hparams(DEFAULTS, ctx.task.protocol, ctx.task.path)
    splits, data, timings = cached_splits(ctx)
    (xtr, ytr), (xva, yva), (xte, yte) = splits["train"], splits["val"], splits["test"]
    start = time.perf_counter()
    k = len(data.classes)
    preds = knn_predictions(torch.cat([xtr, xva]), torch.cat([ytr, yva]), xte, k,
                            hp["k"], hp["temperature"])
    timings["knn_s"] = time.perf_counter() - start
    return ProtocolResult(ctx.plugin.scores(preds, yte, k), {**hp, "recipe": RECIPE}, timings,
                          data.summary())
