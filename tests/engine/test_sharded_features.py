"""Frozen features with the encoder FSDP2-sharded over 2 CPU processes (``--strategy fsdp``)
equal the one-process features bit for bit, from a whole backbone and from a lazy one that
each rank fills with its own rows of the file."""

import os
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from test_engine_features_worker import CASES, backbone, dataset  # noqa: E402

from rsbench.engine import EngineOptions  # noqa: E402
from rsbench.engine.features import extracted_features  # noqa: E402


def test_fsdp_extraction_on_two_cpu_processes_matches_one_process_exactly(tmp_path):
    from safetensors.torch import save_file

    save_file(backbone().model.state_dict(), str(tmp_path / "w.safetensors"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "test_sharded_features_worker.py"),
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    opts = EngineOptions(accelerator="cpu", progress=False, root_dir=str(tmp_path))
    total = sum(p.numel() for p in backbone().model.parameters())
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    assert sum(r["local"] for r in ranks) == total and max(r["local"] for r in ranks) < total
    for got in ranks:
        assert got["world"] == 2 and got["types"] == ["DTensor"]  # really sharded
        assert got["how"] == "safetensors: each rank read its rows"
        for (n, batch), (feats, labels) in zip(CASES, got["results"], strict=True):
            ref_feats, ref_labels = extracted_features(backbone(), dataset(n), opts, batch_size=batch)
            assert feats.shape == (n, 192)
            assert torch.equal(feats, ref_feats), (n, batch)
            assert torch.equal(labels, ref_labels), (n, batch)
        ref_feats, _ = extracted_features(backbone(), dataset(7), opts, batch_size=3)
        assert torch.equal(got["from_file"][0], ref_feats)
        ref_feats, _ = extracted_features(backbone(), dataset(3), opts, batch_size=4)
        assert torch.equal(got["again"][0], ref_feats)  # the same backbone, sharded once
