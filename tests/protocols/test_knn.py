import math

import torch

from rsbench.protocols.knn import knn_predictions


def test_weighted_votes_match_hand_computation():
    # Bank on the unit circle; the query at 0 degrees. Cosine similarities by hand:
    # a (0 deg, class 0): 1.0; b (60 deg, class 1): 0.5; c (90 deg, class 1): 0.0.
    bank = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[2.0, 0.0]])  # scale must not matter: features are L2-normalised
    # T = 1: class 0 gets e^1 = 2.718; class 1 gets e^0.5 + e^0 = 2.649 -> class 0 wins.
    assert knn_predictions(bank, labels, query, 2, k=3, temperature=1.0).tolist() == [0]
    # T = 10: class 0 gets e^0.1 = 1.105; class 1 gets e^0.05 + 1 = 2.051 -> class 1 wins.
    assert knn_predictions(bank, labels, query, 2, k=3, temperature=10.0).tolist() == [1]
    # k = 1: the nearest neighbour alone decides.
    assert knn_predictions(bank, labels, query, 2, k=1, temperature=10.0).tolist() == [0]


def test_chunking_does_not_change_predictions():
    g = torch.Generator().manual_seed(0)
    bank, labels = torch.randn(50, 8, generator=g), torch.randint(0, 4, (50,), generator=g)
    queries = torch.randn(33, 8, generator=g)
    full = knn_predictions(bank, labels, queries, 4, k=5, chunk_size=1000)
    assert torch.equal(full, knn_predictions(bank, labels, queries, 4, k=5, chunk_size=7))


def test_k_larger_than_bank_uses_whole_bank():
    bank = torch.eye(3)
    assert knn_predictions(bank, torch.tensor([0, 1, 2]), torch.eye(3), 3, k=20).tolist() == [0, 1, 2]
