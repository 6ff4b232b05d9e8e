"""Distributed feature extraction equals the one-process extraction bit for bit."""

import os
import subprocess
import sys
from pathlib import Path

import torch

from rsbench.engine import EngineOptions
from rsbench.engine.features import extracted_features
from rsbench.engine.predict import ShardedBatches

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from test_engine_features_worker import CASES, backbone, dataset  # noqa: E402


def test_sharded_batches_deal_whole_batches_without_padding():
    ranks = [list(ShardedBatches(7, 3, r, 2)) for r in range(2)]
    # rank 1 has one batch fewer: it runs a decoy (batch 0, indices -(i + 1)), dropped later
    assert ranks == [[[0, 1, 2], [6]], [[3, 4, 5], [-1, -2, -3]]]
    assert [len(ShardedBatches(7, 3, r, 2)) for r in range(2)] == [2, 2]
    seen = sorted(i for batches in ranks for b in batches for i in b if i >= 0)
    assert seen == list(range(7))  # every sample once: no DistributedSampler padding


def test_rank_without_a_batch_gets_a_decoy_that_is_dropped():
    assert list(ShardedBatches(3, 4, 1, 2)) == [[-1, -2, -3]]
    assert list(ShardedBatches(3, 4, 0, 2)) == [[0, 1, 2]]
    assert list(ShardedBatches(5, 2, 0, 1)) == [[0, 1], [2, 3], [4]]


def test_ddp_on_two_cpu_processes_matches_one_process_exactly(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "test_engine_features_worker.py"), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    opts = EngineOptions(accelerator="cpu", progress=False, root_dir=str(tmp_path))
    ours, theirs = backbone(0).state_dict(), backbone(1).state_dict()
    differ = sum(not torch.equal(ours[k], theirs[k]) for k in ours)  # LayerNorms start alike
    assert 0 < differ < len(ours)
    for rank in range(2):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        assert got["world"] == 2
        # Every rank holds the same weights in the CASES, so none is broadcast (a broadcast
        # would write each rank's copy); in the last run rank 1's encoder differs, and all of
        # the tensors that differ are sent from rank 0, so the features still equal rank 0's.
        assert got["synced"] == [0] * len(CASES) + [differ]
        for (n, batch), (feats, labels) in zip([*CASES, CASES[0]], got["results"], strict=True):
            ref_feats, ref_labels = extracted_features(backbone(), dataset(n), opts, batch_size=batch)
            assert feats.shape == (n, 192)
            assert torch.equal(feats, ref_feats), (rank, n, batch)
            assert torch.equal(labels, ref_labels), (rank, n, batch)
