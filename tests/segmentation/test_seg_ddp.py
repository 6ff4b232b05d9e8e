"""Segmentation scores under DDP equal the one-process scores: no test image counted twice."""

import os
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent


def run_worker(out: Path, devices: int) -> None:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "test_seg_ddp_worker.py"), str(out), str(devices)],
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_process_confusion_matrix_equals_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    run_worker(one, 1)
    run_worker(two, 2)
    ref = torch.load(one / "rank0.pt")["confusion"]
    # 5 images x 36 rows x 40 columns of labelled pixels: each counted exactly once.
    assert int(ref.sum()) == 5 * 36 * 40
    for rank in range(2):
        got = torch.load(two / f"rank{rank}.pt")
        assert got["world"] == 2
        assert torch.equal(got["confusion"], ref), rank
