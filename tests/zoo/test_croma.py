"""CROMA, optical only: torchgeo's own part-by-part loader against rsbench's flattened read."""

from dataclasses import replace
from types import SimpleNamespace

import torch
from torchgeo.models.croma import CROMA, load_weights
from zoo_helpers import EUROSAT13, run_backbone, zoo_card

# croma_base's dimensions (the builder fixes depth 12): depth 2 here, 16 px images.
BASE = {"encoder_dim": 768, "encoder_depth": 2, "num_heads": 16, "patch_size": 8}
PARTS = ("s1_encoder", "s1_GAP_FFN", "s2_encoder", "s2_GAP_FFN", "joint_encoder")


def test_optical_gap_equals_torchgeo_on_eurosat(tmp_path, reduced):
    reduced("croma_base", "torchgeo.models.croma:CROMA", **BASE)
    torch.manual_seed(0)
    both = CROMA(modalities=["sar", "optical"], image_size=16, **BASE)
    released = {part: getattr(both, part).state_dict() for part in PARTS}  # the file's layout
    path = tmp_path / "CROMA_base.pt"
    torch.save(released, path)

    reference = CROMA(modalities=["optical"], image_size=16, **BASE).eval()
    load_weights(reference, SimpleNamespace(get_state_dict=lambda progress: released))
    backbone, plan = run_backbone(zoo_card("zoo:croma_base", path, pool="avg"),
                                  replace(EUROSAT13, image_size=16))
    torch.manual_seed(1)
    x = torch.rand(2, 13, 16, 16)  # EuroSAT's files: B01..B12, B8A
    croma_order = [0, 1, 2, 3, 4, 5, 6, 7, 12, 8, 10, 11]  # B01..B08, B8A, B09, B11, B12
    with torch.no_grad():
        expected = reference(x_optical=x[:, croma_order])["optical_GAP"]
        got = backbone(x)
    assert (got - expected).abs().max().item() < 1e-5
    report = backbone.load_report
    assert report.params_loaded == report.params_total
    assert report.matched == len(released["s2_encoder"]) + len(released["s2_GAP_FFN"])
    assert report.ignored_count == len(released["s1_encoder"]) + len(released["s1_GAP_FFN"]) + len(
        released["joint_encoder"])
    assert "attn_bias" in report.warnings[0]
    assert plan.source() == croma_order
