"""SSL4EO-S12 ResNet-50: torchgeo's timm ResNet, its weights' statistics, EuroSAT's bands."""

import torch
import torchgeo.models as tg
from zoo_helpers import EUROSAT13, released, run_backbone, zoo_card

WEIGHTS = tg.ResNet50_Weights.SENTINEL2_ALL_MOCO


def test_pooled_features_equal_torchgeo_forward(tmp_path):
    torch.manual_seed(0)
    # torchgeo's builder (timm.create_model('resnet50')), one bottleneck per stage
    reference = tg.resnet50(None, in_chans=13, num_classes=0, layers=(1, 1, 1, 1)).eval()
    path = released(tmp_path, reference)
    card = zoo_card("zoo:resnet50", path, pool="avg", arch_overrides={"layers": [1, 1, 1, 1]})
    backbone, _ = run_backbone(card, EUROSAT13)
    torch.manual_seed(1)
    dn = torch.randint(0, 10000, (2, 13, 32, 32)).float()  # torchgeo's band order
    normalised = dn.clone()
    for module in WEIGHTS.transforms:
        if type(module).__name__ == "Normalize":
            normalised = module(normalised)
    with torch.no_grad():
        expected = reference(normalised)
        got = backbone(dn[:, [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 8]] / 10000.0)
    assert (got - expected).abs().max().item() < 1e-5
    report = backbone.load_report
    assert report.matched == report.total_keys and report.params_loaded == report.params_total
    assert backbone.embed_dim == 2048


def test_softcon_statistics_are_the_transforms_on_reflectance():
    """SoftCon's transforms standardise digital numbers by per-band statistics (no /10000)."""
    spec = zoo_card("zoo:resnet50", "x.pth", pool="avg", weights="SENTINEL2_ALL_SOFTCON").input_spec
    torch.manual_seed(2)
    reflectance = torch.rand(1, 13, 4, 4)
    mean = torch.tensor(spec.mean).view(1, 13, 1, 1)
    std = torch.tensor(spec.std).view(1, 13, 1, 1)
    expected = reflectance * 10000  # the digital numbers torchgeo's transforms take
    for module in tg.ResNet50_Weights.SENTINEL2_ALL_SOFTCON.transforms:
        if type(module).__name__ == "Normalize":
            expected = module(expected)
    assert torch.allclose((reflectance - mean) / std, expected, atol=1e-5)


def test_releases_in_units_rsbench_has_not_are_refused():
    import pytest

    from rsbench.errors import SpecError

    with pytest.raises(SpecError, match="card.yaml: weights SENTINEL2_RGB_SECO of zoo:resnet50"):
        zoo_card("zoo:resnet50", "x.pth", pool="avg", weights="SENTINEL2_RGB_SECO")
