"""CROMA's radar and joint modes: torchgeo's part-by-part loader and forward against rsbench's
run, on BigEarthNet's bands in a shuffled order (the band plan routes them by name)."""

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from torchgeo.models.croma import CROMA, load_weights
from zoo_helpers import OFFICIAL, run_backbone, zoo_card

from rsbench.bands.plan import input_plan
from rsbench.bands.sensors import BandError
from rsbench.config import DatasetSpec

# croma_base's dimensions at depth 2 (radar and joint encoders: depth 1), 16 px images.
BASE = {"encoder_dim": 768, "encoder_depth": 2, "num_heads": 16, "patch_size": 8}
PARTS = ("s1_encoder", "s1_GAP_FFN", "s2_encoder", "s2_GAP_FFN", "joint_encoder")
#: BigEarthNet ``all``'s 14 bands in an order of neither the dataset's nor CROMA's.
SHUFFLED = ("B12", "s1:VH", "B03", "B8A", "B01", "s1:VV", "B11", "B05", "B02", "B09", "B07",
            "B04", "B08", "B06")
#: By hand from SHUFFLED: x_sar is VV, VH; x_optical is B01..B08, B8A, B09, B11, B12.
SAR_FROM = [5, 1]
OPTICAL_FROM = [4, 8, 2, 11, 7, 13, 10, 12, 3, 9, 6, 0]


def released_file(tmp_path):
    """A random CROMA saved as the release is: one state dict per part."""
    torch.manual_seed(0)
    both = CROMA(modalities=["sar", "optical"], image_size=16, **BASE)
    parts = {part: getattr(both, part).state_dict() for part in PARTS}
    path = tmp_path / "CROMA_base.pt"
    torch.save(parts, path)
    return path, parts


def torchgeo_croma(modalities, parts):
    """torchgeo's own module for ``modalities``, filled by its own ``load_weights``."""
    model = CROMA(modalities=modalities, image_size=16, **BASE).eval()
    load_weights(model, SimpleNamespace(get_state_dict=lambda progress: parts))
    return model


def test_joint_gap_equals_torchgeo_with_bands_routed_by_name(tmp_path, reduced):
    reduced("croma_base_joint", "torchgeo.models.croma:CROMA", **BASE)
    path, parts = released_file(tmp_path)
    reference = torchgeo_croma(["sar", "optical"], parts)
    dataset = DatasetSpec("bigearthnet", OFFICIAL, 16, variant="all", bands=SHUFFLED)
    backbone, plan = run_backbone(zoo_card("zoo:croma_base_joint", path, pool="avg"), dataset)
    torch.manual_seed(1)
    x = torch.rand(2, 14, 16, 16)
    with torch.no_grad():
        expected = reference(x_sar=x[:, SAR_FROM], x_optical=x[:, OPTICAL_FROM])["joint_GAP"]
        got = backbone(x)
    assert (got - expected).abs().max().item() < 1e-5
    assert plan.source() == SAR_FROM + OPTICAL_FROM
    mapping = plan.to_dict()["mapping"]
    assert mapping[:3] == [{"model": "s1:VV", "data": "s1:VV", "index": 5, "rule": "name"},
                           {"model": "s1:VH", "data": "s1:VH", "index": 1, "rule": "name"},
                           {"model": "s2_l1c:B01", "data": "s2_l2a:B01", "index": 4,
                            "rule": "name"}]
    report = backbone.load_report
    assert report.matched == sum(len(parts[p]) for p in PARTS)  # every released tensor
    assert report.ignored_count == 0
    assert report.params_loaded == report.params_total

    # normalisation: dataset: each data channel's own statistics, whatever its position
    mean = [0.1 * (i + 1) for i in range(14)]
    std = [0.5 + 0.05 * i for i in range(14)]
    replace(plan, normalisation="dataset", statistics={"mean": mean, "std": std}).fitted(backbone)
    m, s = torch.tensor(mean).view(1, 14, 1, 1), torch.tensor(std).view(1, 14, 1, 1)
    z = (x - m) / s
    with torch.no_grad():
        expected = reference(x_sar=z[:, SAR_FROM], x_optical=z[:, OPTICAL_FROM])["joint_GAP"]
        got = backbone(x)
    assert (got - expected).abs().max().item() < 1e-5


def test_sar_gap_equals_torchgeo_on_bigearthnet_s1(tmp_path, reduced):
    reduced("croma_base_radar", "torchgeo.models.croma:CROMA", **BASE)
    path, parts = released_file(tmp_path)
    reference = torchgeo_croma(["sar"], parts)
    dataset = DatasetSpec("bigearthnet", OFFICIAL, 16, variant="s1", bands=("VH", "VV"))
    backbone, plan = run_backbone(zoo_card("zoo:croma_base_radar", path, pool="avg"), dataset)
    torch.manual_seed(2)
    x = torch.rand(2, 2, 16, 16)
    with torch.no_grad():
        expected = reference(x_sar=x[:, [1, 0]])["sar_GAP"]
        got = backbone(x)
    assert (got - expected).abs().max().item() < 1e-5
    assert plan.source() == [1, 0]
    report = backbone.load_report
    assert report.matched == len(parts["s1_encoder"]) + len(parts["s1_GAP_FFN"])
    assert report.ignored_count == sum(len(parts[p]) for p in
                                       ("s2_encoder", "s2_GAP_FFN", "joint_encoder"))
    assert report.params_loaded == report.params_total


def test_joint_card_refuses_data_without_optical_bands():
    card = zoo_card("zoo:croma_base_joint", "CROMA_base.pt", pool="avg")
    s1 = DatasetSpec("bigearthnet", OFFICIAL, 16, variant="s1", bands=("VV", "VH"))
    with pytest.raises(BandError, match="lacks B01, B02"):
        input_plan(card.input_spec, card.name, s1)
