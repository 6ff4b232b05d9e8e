"""SSL4EO-S12 ViT-S/16 on 13 Sentinel-2 bands: torchgeo's module and metadata, rsbench's path."""

import torch
import torchgeo.models as tg
from zoo_helpers import EUROSAT13, released, run_backbone, zoo_card

from rsbench.zoo.spec import normalize_steps

WEIGHTS = tg.ViTSmall16_Weights.SENTINEL2_ALL_MOCO


def reference_module():
    torch.manual_seed(0)
    # torchgeo's own builder (timm.create_model), one block instead of twelve
    return tg.vit_small_patch16_224(None, in_chans=13, num_classes=0, img_size=32, depth=1).eval()


def torchgeo_normalised(dn: torch.Tensor) -> torch.Tensor:
    """The weights' own transforms on digital numbers (their Normalize steps; the resize and
    crop are the task's image size in rsbench)."""
    for module in WEIGHTS.transforms:
        if type(module).__name__ == "Normalize":
            dn = module(dn.clone())
    return dn


def test_card_spec_is_the_weights_metadata():
    card = zoo_card("zoo:vit_small_patch16_224", "x.pth", weights="SENTINEL2_ALL_MOCO")
    assert card.input_spec.bands == tuple(WEIGHTS.meta["bands"])
    assert card.input_spec.sensor == "s2_l1c"
    assert normalize_steps(WEIGHTS.transforms) == [([0.0], [10000.0])]
    # the transforms divide digital numbers by 10000: reflectance, rsbench's [0, 1], as it is
    assert card.input_spec.value_scale == 1.0
    assert card.input_spec.mean == (0.0,) * 13 and card.input_spec.std == (1.0,) * 13


def test_features_equal_torchgeo_forward_on_eurosat_order(tmp_path):
    reference = reference_module()
    path = released(tmp_path, reference, absent=("norm.weight", "norm.bias"))
    card = zoo_card("zoo:vit_small_patch16_224", path, arch_overrides={"depth": 1})
    backbone, plan = run_backbone(card, EUROSAT13)

    torch.manual_seed(1)
    dn = torch.randint(0, 10000, (2, 13, 32, 32)).float()  # torchgeo's band order (B8a 9th)
    eurosat_order = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 8]  # the files': B8A last
    with torch.no_grad():
        expected = reference(torchgeo_normalised(dn))
        got = backbone(dn[:, eurosat_order] / 10000.0)  # rsbench's data: reflectance
    assert (got - expected).abs().max().item() < 1e-5

    report = backbone.load_report
    assert report.matched == len(reference.state_dict()) - 2
    assert report.params_loaded == report.params_total and report.complete
    assert "norm.bias, norm.weight" in report.warnings[0]
    mapping = plan.to_dict()["mapping"]
    assert mapping[8] == {"model": "s2_l1c:B8A", "data": "s2_l1c:B8A", "index": 12, "rule": "name"}
    assert [m["index"] for m in mapping] == [0, 1, 2, 3, 4, 5, 6, 7, 12, 8, 9, 10, 11]


def test_inspect_reads_a_zoo_file(tmp_path, capsys):
    from rsbench.cli import main

    torch.manual_seed(0)
    reference = tg.vit_small_patch16_224(None, in_chans=13, num_classes=0, depth=1)
    path = released(tmp_path, reference)
    assert main(["inspect", str(path), "--arch", "zoo:vit_small_patch16_224",
                 "--set", "arch.depth=1"]) == 0
    out = capsys.readouterr().out
    assert "torch-zip / torchgeo" in out and "keys matched      18/18" in out
