"""A DCP folder written by two ranks (tensors sharded on dim 0, as FSDP2 leaves them) loads whole."""

from __future__ import annotations

import torch.multiprocessing as mp
from ckpt_helpers import ARCH, OVERRIDES, SPEC, assert_same_features, free_port, save_sharded_dcp

from rsbench.checkpoints import load_backbone


def test_two_rank_sharded_dcp_loads_into_one_process(tmp_path, vit):
    path = tmp_path / "dcp"
    mp.spawn(save_sharded_dcp, args=(str(path), free_port(), 2), nprocs=2)
    assert sorted(p.name for p in path.glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    backbone = load_backbone(path, ARCH, input_spec=SPEC, **OVERRIDES)
    report = backbone.load_report
    assert (report.storage, report.prefix, report.fraction_loaded) == ("dcp", "model.", 1.0)
    assert_same_features(backbone, vit.forward_features)
