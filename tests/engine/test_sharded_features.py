"""Frozen features under ``--strategy fsdp`` on 2 CPU processes equal the one-process features
bit for bit in both placements the plan chooses between: replicated (data parallel) when a
whole encoder fits one device, FSDP2-sharded when it does not (``--device-memory`` small), from
whole encoders and from lazy ones (read from the file only once placed: each rank reads all of
it for a replicated pass, its own rows for a sharded one).

The placement is the plan's device estimate of a frozen pass (``rsbench.backbones.memory``):
930,624 fp32 parameters (3,722,496 B), one layer's activations (34 x 17 tokens x batch x 192
x 2 B, fp32) and the 1.5 GiB runtime overhead: 1.50 GiB per rank, within 0.9 x 64 GiB and
over 0.9 x 1 GiB.
"""

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

FITS = "replicated: a whole encoder needs 1.50 GiB/rank, within 0.9 x 64.00 GiB (--device-memory)"
OVER = "sharded: a whole encoder needs 1.50 GiB/rank, over 0.9 x 1.00 GiB (--device-memory)"


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
    assert 4 * total + 34 * 17 * 4 * 192 * 2 + 1.5 * 2**30 < 0.9 * 2**30 * 64  # hand check of FITS
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    assert sum(r["local"] for r in ranks) == total and max(r["local"] for r in ranks) < total
    references = [extracted_features(backbone(), dataset(n), opts, batch_size=b) for n, b in CASES]
    for got in ranks:
        assert got["world"] == 2
        assert got["replicated"]["placed"] == [FITS, FITS]
        assert got["replicated"]["types"] == [["Parameter"], ["Parameter"]]  # never sharded
        assert got["sharded"]["placed"] == [OVER, OVER]
        assert got["sharded"]["types"] == [["DTensor"], ["DTensor"]]  # really sharded
        assert got["whole_placed"] == FITS + "; lazy encoder, filled whole"
        assert got["whole_types"] == ["Parameter"] and got["whole_local"] == total
        assert got["whole_how"] == "safetensors: each rank read its rows"  # all rows: whole
        assert got["lazy_placed"] == OVER + "; lazy encoder, filled shard by shard"
        assert got["again_placed"] == FITS + "; encoder sharded by an earlier pass"
        assert got["lazy_types"] == ["DTensor"]
        assert got["how"] == "safetensors: each rank read its rows"
        for branch in ("replicated", "sharded"):
            for (n, batch), (feats, labels), (ref_feats, ref_labels) in zip(
                    CASES, got[branch]["results"], references, strict=True):
                assert feats.shape == (n, 192)
                assert torch.equal(feats, ref_feats), (branch, n, batch)
                assert torch.equal(labels, ref_labels), (branch, n, batch)
        ref_feats, _ = extracted_features(backbone(), dataset(7), opts, batch_size=3)
        assert torch.equal(got["from_file"][0], ref_feats)
        assert torch.equal(got["whole"][0], ref_feats)
        ref_feats, _ = extracted_features(backbone(), dataset(3), opts, batch_size=4)
        assert torch.equal(got["again"][0], ref_feats)  # the same backbone, sharded once
