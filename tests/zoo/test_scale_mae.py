"""Scale-MAE: the data's GSD as torchgeo's ``res``, the weights' transforms as the input spec."""

import pytest
import torch
import torchgeo.models as tg
from torchgeo.models.scale_mae import ScaleMAE
from zoo_helpers import EUROSAT13, UCMERCED, released, run_backbone, zoo_card

from rsbench.errors import SpecError

WEIGHTS = tg.ScaleMAELarge16_Weights.FMOW_RGB
# scalemae_large_patch16's dimensions (the builder fixes depth 24): one block here.
LARGE = {"embed_dim": 1024, "num_heads": 16, "patch_size": 16, "depth": 1, "mlp_ratio": 4,
         "qkv_bias": True}


def reference_module(res: float) -> ScaleMAE:
    from functools import partial

    torch.manual_seed(0)
    return ScaleMAE(res=res, img_size=32, num_classes=0,
                    norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), **LARGE).eval()


def torchgeo_normalised(v: torch.Tensor) -> torch.Tensor:
    """The weights' own transforms (Normalize 0/255, then ImageNet's) on 8-bit values."""
    for module in WEIGHTS.transforms:
        v = module(v.clone())
    return v


@pytest.fixture
def small(reduced):
    return reduced("scalemae_large_patch16", "torchgeo.models.scale_mae:ScaleMAE", **LARGE)


def test_eurosat_rgb_bands_give_10_m(tmp_path, small):
    reference = reference_module(res=10.0)  # S2 B04/B03/B02: 10 m (ESA)
    backbone, plan = run_backbone(zoo_card("zoo:scalemae_large_patch16",
                                           released(tmp_path, reference)), EUROSAT13)
    torch.manual_seed(1)
    x = torch.rand(2, 13, 32, 32)
    with torch.no_grad():
        expected = reference(torchgeo_normalised(x[:, [3, 2, 1]] * 255))
        got = backbone(x)
    assert (got - expected).abs().max().item() < 1e-5
    assert backbone.model.res == 10.0
    assert {p["gsd_m"] for p in plan.to_dict()["physics"]} == {10.0}
    report = backbone.load_report
    assert report.matched == report.total_keys and report.params_loaded == report.params_total


def test_unknown_gsd_needs_the_cards_res(tmp_path, small):
    reference = reference_module(res=0.3)
    path = released(tmp_path, reference)
    backbone, _ = run_backbone(zoo_card("zoo:scalemae_large_patch16", path), UCMERCED)
    with pytest.raises(SpecError, match="arch_overrides.res"):
        backbone(torch.rand(1, 3, 32, 32))
    backbone, _ = run_backbone(zoo_card("zoo:scalemae_large_patch16", path,
                                        arch_overrides={"res": 0.3}), UCMERCED)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert (backbone(x) - reference(torchgeo_normalised(x * 255))).abs().max().item() < 1e-5


def test_card_spec_composes_the_transforms():
    spec = zoo_card("zoo:scalemae_large_patch16", "x.pth").input_spec
    assert spec.bands == ("R", "G", "B") and spec.value_scale == 1.0
    v = torch.tensor([10.0, 100.0, 200.0]).view(1, 3, 1, 1)  # 8-bit values; rsbench's v / 255
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    assert torch.allclose((v / 255 - mean) / std, torchgeo_normalised(v), atol=1e-5)
