"""Multi-label kNN votes and scores against hand computations."""

import math

import numpy as np
import pytest
import torch
from reference_metrics import average_precision, knn_votes, multilabel_metrics

from rsbench.protocols.knn import knn_predictions
from rsbench.protocols.knn import knn_votes as rs_knn_votes
from rsbench.tasks import multilabel


def test_votes_of_two_neighbours_by_hand():
    bank = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    labels = torch.tensor([[1, 0, 1], [1, 1, 0], [0, 1, 0]])
    query = torch.tensor([[0.8, 0.6]])  # cosines 0.8, 0.96, 0.6: neighbours 1 then 0
    votes = rs_knn_votes(bank, labels, query, 3, k=2, temperature=1.0)
    w1, w0 = math.exp(0.96), math.exp(0.8)
    expected = [(w1 + w0) / (w1 + w0), w1 / (w1 + w0), w0 / (w1 + w0)]
    assert votes.tolist()[0] == pytest.approx(expected, abs=1e-6)


def test_vote_above_half_is_the_per_label_binary_weighted_knn():
    # The OlmoEarth/Galileo rule: per label, a two-class weighted kNN, argmax (ties: absent).
    gen = torch.Generator().manual_seed(0)
    bank, queries = torch.randn(40, 8, generator=gen), torch.randn(25, 8, generator=gen)
    labels = (torch.rand(40, 5, generator=gen) < 0.4).long()
    votes = rs_knn_votes(bank, labels, queries, 5, k=7, temperature=0.07)
    for c in range(5):
        binary = knn_predictions(bank, labels[:, c], queries, 2, k=7, temperature=0.07)
        assert torch.equal((votes[:, c] > 0.5).long(), binary)
    np.testing.assert_allclose(votes.numpy(), knn_votes(bank.numpy(), labels.numpy(),
                                                        queries.numpy(), 7, 0.07), atol=1e-6)


def test_class_index_labels_keep_dinos_votes():
    bank = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    preds = knn_predictions(bank, torch.tensor([2, 0, 1]), torch.tensor([[0.8, 0.6]]), 3, k=2)
    assert preds.tolist() == [0]  # neighbour 1 (label 0) outweighs neighbour 0 (label 2)


def test_knn_scores_equal_the_hand_metrics():
    votes = torch.tensor([[0.9, 0.2, 0.5], [0.4, 0.7, 0.1], [0.6, 0.6, 0.0], [0.1, 0.3, 0.8]])
    target = torch.tensor([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])
    got = multilabel.knn_scores(votes, target, 3)
    hand = multilabel_metrics(votes.double().numpy(), target.numpy())
    assert got == pytest.approx(hand, abs=1e-6)
    # Label 2 has no positive: AP 0 in the macro mean; labels 0 and 1 rank perfectly / not.
    assert average_precision(np.array([0.2, 0.7, 0.6, 0.3]), np.array([0, 1, 0, 1])) == (
        pytest.approx((1 + 2 / 3) / 2))
    assert got["map_macro"] == pytest.approx((1.0 + (1 + 2 / 3) / 2 + 0.0) / 3, abs=1e-6)
