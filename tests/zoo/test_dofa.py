"""DOFA: the data's bands, each with its own centre wavelength, into torchgeo's DOFA forward."""

import pytest
import torch
from torchgeo.models.dofa import DOFA
from zoo_helpers import BIGEARTHNET, UCMERCED, released, run_backbone, zoo_card

from rsbench.bands.plan import input_plan
from rsbench.bands.sensors import BandError
from rsbench.config import DatasetSpec
from rsbench.errors import SpecError

#: Sentinel-2A centre wavelengths (nm), ESA S2-SRF issue 3.0, BigEarthNet's 12 bands in order.
S2A_CENTRES = (442.7, 492.7, 559.8, 664.6, 704.1, 740.5, 782.8, 832.8, 864.7, 945.1, 1613.7,
               2202.4)
# DOFA base's dimensions (torchgeo's dofa_base_patch16_224 fixes depth 12): one block here.
BASE = {"embed_dim": 768, "num_heads": 12, "patch_size": 16, "depth": 1}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One DOFA at base width (one block) and its released file: every tensor but fc_norm,
    which torchgeo's loader allows the file to lack."""
    torch.manual_seed(0)
    reference = DOFA(img_size=32, num_classes=0, **BASE).eval()
    path = released(tmp_path_factory.mktemp("dofa"), reference,
                    absent=("fc_norm.weight", "fc_norm.bias"))
    return reference, path


def test_bigearthnet_bands_feed_their_wavelengths(saved, reduced):
    name = "dofa_base_patch16_224"
    reduced(name, "torchgeo.models.dofa:DOFA", **BASE)
    reference, path = saved
    backbone, plan = run_backbone(zoo_card(f"zoo:{name}", path, pool="avg"), BIGEARTHNET)

    torch.manual_seed(1)
    x = torch.rand(2, 12, 32, 32)
    with torch.no_grad():
        expected = reference(x, [w / 1000 for w in S2A_CENTRES])  # mean 0, std 1: as is
        got = backbone(x)
    assert (got - expected).abs().max().item() < 1e-5
    report = backbone.load_report
    assert report.params_loaded == report.params_total and report.matched == report.total_keys - 2
    assert "fc_norm.bias, fc_norm.weight" in report.warnings[0]
    record = plan.to_dict()
    assert record["missing"] == ["s2_l1c:B10"] and record["band_fill"] is None
    assert [p["wavelength_nm"] for p in record["physics"]] == list(S2A_CENTRES)
    assert record["physics"][0]["band"] == "s2_l2a:B01"


def test_rgb_camera_takes_the_matched_bands_wavelengths(saved, reduced):
    reduced("dofa_base_patch16_224", "torchgeo.models.dofa:DOFA", **BASE)
    reference, path = saved
    backbone, plan = run_backbone(zoo_card("zoo:dofa_base_patch16_224", path, pool="avg"),
                                  UCMERCED)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():  # R, G, B: S2 B04, B03, B02 (the camera's curves are unpublished)
        expected = reference(x, [0.6646, 0.5598, 0.4927])
        assert (backbone(x) - expected).abs().max().item() < 1e-5
    # the encoder takes them in the card's order: B02, B03, B04 (data channels B, G, R)
    assert [p["wavelength_from"] for p in plan.to_dict()["physics"]] == [
        "s2_l1c:B02", "s2_l1c:B03", "s2_l1c:B04"]
    assert plan.source() == [2, 1, 0]


def test_dofa_refuses_a_fill_and_a_class_token():
    card = zoo_card("zoo:dofa_base_patch16_224", "x.pth", pool="avg")
    filled = DatasetSpec("ucmerced", {"kind": "ratio"}, 32, bands=("R", "G", "B"), band_fill="zero")
    with pytest.raises(BandError, match="wavelength-conditioned"):
        input_plan(card.input_spec, card.name, filled)
    with pytest.raises(SpecError, match="card.yaml: field 'pool': .*pool 'cls' is not offered"):
        zoo_card("zoo:dofa_base_patch16_224", "x.pth", pool="cls")


@pytest.mark.parametrize("name", ["dofa_base_patch16_224", "dofa_large_patch16_224"])
def test_zoo_builds_torchgeos_module_at_full_size(name):
    """On the meta device: the tensors of torchgeo's builder, shape for shape (no classifier)."""
    import torchgeo.models as tg

    from rsbench.backbones import build_backbone

    card = zoo_card(f"zoo:{name}", "x.pth", pool="avg")
    built = build_backbone(card.arch, card.input_spec, "avg", device="meta").model
    with torch.device("meta"):
        expected = getattr(tg, name)(None, num_classes=0)
    assert {k: v.shape for k, v in built.state_dict().items()} == {
        k: v.shape for k, v in expected.state_dict().items()}
