"""Copernicus-FM, spectral mode: each band's centre and bandwidth into torchgeo's forward."""

import torch
from torchgeo.models.copernicusfm import CopernicusFM
from zoo_helpers import BIGEARTHNET, released, run_backbone, zoo_card

#: Sentinel-2A centre wavelengths and bandwidths (nm), ESA S2-SRF issue 3.0, BigEarthNet's bands.
S2A_CENTRES = (442.7, 492.7, 559.8, 664.6, 704.1, 740.5, 782.8, 832.8, 864.7, 945.1, 1613.7,
               2202.4)
S2A_WIDTHS = (20.0, 65.0, 35.0, 38.0, 14.0, 14.0, 19.0, 105.0, 21.0, 19.0, 90.0, 174.0)
# copernicusfm_base's dimensions (the builder fixes depth 12): one block here.
BASE = {"embed_dim": 768, "num_heads": 12, "depth": 1}


def test_bigearthnet_bands_feed_centres_and_widths(tmp_path, reduced):
    reduced("copernicusfm_base", "torchgeo.models.copernicusfm:CopernicusFM", **BASE)
    torch.manual_seed(0)
    reference = CopernicusFM(img_size=32, num_classes=0, **BASE).eval()
    path = released(tmp_path, reference, absent=("fc_norm.weight", "fc_norm.bias"))
    backbone, plan = run_backbone(zoo_card("zoo:copernicusfm_base", path, pool="avg"),
                                  BIGEARTHNET)
    torch.manual_seed(1)
    x = torch.rand(2, 12, 32, 32)
    unknown = torch.full((2, 4), float("nan"))
    with torch.no_grad():
        expected = reference(x, unknown, wavelengths=list(S2A_CENTRES),
                             bandwidths=list(S2A_WIDTHS), input_mode="spectral")
        got = backbone(x)
    assert (got - expected).abs().max().item() < 1e-5
    report = backbone.load_report
    assert report.params_loaded == report.params_total and report.matched == report.total_keys - 2
    assert [p["bandwidth_nm"] for p in plan.to_dict()["physics"]] == list(S2A_WIDTHS)
