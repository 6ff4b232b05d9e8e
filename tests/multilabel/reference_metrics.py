"""Multi-label metrics and kNN votes by hand, in numpy, for checking recorded numbers.

Average precision as torchmetrics (and scikit-learn) define it: over the distinct scores from
high to low, the sum of (recall step) x (precision there); a label without a positive counts 0
in the macro mean (torchmetrics). F1 predicts a label above 0.5 and is 0 where undefined.
"""

from __future__ import annotations

import numpy as np


def average_precision(scores: np.ndarray, truth: np.ndarray) -> float:
    """Step-wise AP of one ranking (0.0 without positives)."""
    positives = truth.sum()
    if positives == 0:
        return 0.0
    ap, recall_before = 0.0, 0.0
    for threshold in np.unique(scores)[::-1]:
        chosen = scores >= threshold
        tp = float((truth[chosen] == 1).sum())
        recall = tp / positives
        ap += (recall - recall_before) * tp / chosen.sum()
        recall_before = recall
    return ap


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    """2 TP / (2 TP + FP + FN), 0 when nothing is predicted or true."""
    tp = float((pred & truth).sum())
    denominator = 2 * tp + float((pred & ~truth).sum()) + float((~pred & truth).sum())
    return 2 * tp / denominator if denominator else 0.0


def multilabel_metrics(probs: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """map_macro, map_micro, f1_macro, f1_micro of ``[N, L]`` probabilities and 0/1 targets."""
    labels = range(target.shape[1])
    pred, truth = probs > 0.5, target.astype(bool)
    return {
        "map_macro": float(np.mean([average_precision(probs[:, c], target[:, c])
                                    for c in labels])),
        "map_micro": average_precision(probs.ravel(), target.ravel()),
        "f1_macro": float(np.mean([f1(pred[:, c], truth[:, c]) for c in labels])),
        "f1_micro": f1(pred.ravel(), truth.ravel()),
    }


def knn_votes(bank: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int,
              temperature: float) -> np.ndarray:
    """Each label's share of the exp(cosine / T) weight of the k most similar bank rows."""
    bank = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    votes = np.zeros((len(queries), labels.shape[1]))
    for i, sims in enumerate(queries @ bank.T):
        nearest = np.argsort(-sims, kind="stable")[:k]
        weights = np.exp(sims[nearest] / temperature)
        votes[i] = weights @ labels[nearest] / weights.sum()
    return votes
