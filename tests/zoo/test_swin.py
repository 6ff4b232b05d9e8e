"""SatlasPretrain Swin-v2: torchvision's stage outputs as the pyramid, its forward as the pooled
features, the released file's layout, and UperNet on the levels."""

import pytest
import torch
import torchgeo.models as tg
from swin_models import as_torchgeo_loads, swin_v2_b
from torch import nn
from zoo_helpers import UCMERCED, released, run_backbone, zoo_card

from rsbench.backbones.input_spec import InputSpec
from rsbench.backbones.pyramid import level_channels
from rsbench.checkpoints.safe_load import CheckpointError
from rsbench.errors import SpecError
from rsbench.heads.detection import LevelFPN, ViTDetBackbone
from rsbench.heads.upernet import SegmentationModel, segmentation_head
from rsbench.protocols.lr_decay import param_groups_lrd
from rsbench.zoo.load import build_zoo

NAIP = tg.Swin_V2_B_Weights.NAIP_RGB_SI_SATLAS
RGB = InputSpec(bands=("R", "G", "B"), mean=(0.0,) * 3, std=(1.0,) * 3, sensor="rgb")


@pytest.fixture
def loaded(tmp_path, reduced):
    """A shallow swin_v2_b saved as the NAIP release is (torchvision's keys, its 1000-class
    head), the card naming those weights, and the backbone a UC Merced run gets from it."""
    reduced("swin_v2_b", builder="swin_models:swin_v2_b")
    torch.manual_seed(0)
    reference = as_torchgeo_loads(swin_v2_b(), NAIP.meta["in_chans"]).eval()
    path = released(tmp_path, reference)
    card = zoo_card("zoo:swin_v2_b", path, pool="avg", weights=NAIP.name)
    backbone, _ = run_backbone(card, UCMERCED)
    return reference, backbone, path


def eight_bit(seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randint(0, 256, (2, 3, 32, 32)).float()


def test_levels_are_torchvisions_stage_outputs(loaded):
    reference, backbone, _ = loaded
    x = eight_bit(1) / 255.0
    with torch.no_grad():
        got = backbone.feature_maps(x)
        z = backbone.normalize(x)
        expected = [reference.features[:i + 1](z).permute(0, 3, 1, 2) for i in (1, 3, 5, 7)]
    assert backbone.level_channels == [128, 256, 512, 1024]
    assert [tuple(m.shape) for m in got] == [(2, 128, 8, 8), (2, 256, 4, 4), (2, 512, 2, 2),
                                             (2, 1024, 1, 1)]
    assert all(torch.equal(g, e) for g, e in zip(got, expected, strict=True))
    with torch.no_grad():
        again = backbone.feature_maps(x, [2, 0, 2])
    assert torch.equal(again[0], got[2]) and torch.equal(again[1], got[0])


def test_pooled_is_torchvisions_forward_without_head_on_torchgeos_transforms(loaded):
    reference, backbone, _ = loaded
    reference.head = nn.Identity()
    pixels = eight_bit(2)  # NAIP's 8-bit RGB
    normalised = pixels.clone()
    for module in NAIP.transforms:  # torchgeo's Normalize(0, 255); CenterCrop is the task's size
        if type(module).__name__ == "Normalize":
            normalised = module(normalised)
    with torch.no_grad():
        expected = reference(normalised)
        got = backbone(pixels / 255.0)  # rsbench's [0, 1] RGB
    assert got.shape == (2, 1024) and backbone.embed_dim == 1024
    assert (got - expected).abs().max().item() < 1e-5


def test_released_layout_loads_with_every_tensor_reported(loaded):
    reference, backbone, path = loaded
    report = backbone.load_report
    module_keys = set(reference.state_dict()) - {"head.weight", "head.bias"}
    assert report.total_keys == report.matched == len(module_keys)
    assert report.params_loaded == report.params_total == sum(
        reference.state_dict()[k].numel() for k in module_keys)
    assert report.ignored_count == 2 and report.prefix == "" and report.warnings == []
    state = backbone.model.state_dict()
    assert all(torch.equal(state[k], reference.state_dict()[k]) for k in module_keys)


def test_a_file_lacking_a_key_is_refused(tmp_path, reduced):
    # torchgeo's swin_v2_b loader asserts that no key is missing, the final norm included
    reduced("swin_v2_b", builder="swin_models:swin_v2_b")
    path = released(tmp_path, as_torchgeo_loads(swin_v2_b(), 3), absent=("norm.weight",))
    card = zoo_card("zoo:swin_v2_b", path, pool="avg", weights=NAIP.name)
    with pytest.raises(CheckpointError, match=r"lacks 1 key\(s\) of torchgeo's module \(norm.weight"):
        run_backbone(card, UCMERCED)


def test_naip_statistics_are_torchgeos_division_by_255():
    spec = zoo_card("zoo:swin_v2_b", "x.pth", pool="avg", weights=NAIP.name).input_spec
    assert (spec.bands, spec.sensor, spec.mean, spec.std, spec.value_scale) == (
        ("R", "G", "B"), "rgb", (0.0,) * 3, (1.0,) * 3, 1.0)


@pytest.mark.parametrize("arch, weights", [("zoo:swin_v2_t", "SENTINEL2_SI_RGB_SATLAS"),
                                           ("zoo:swin_v2_b", "SENTINEL2_SI_MS_SATLAS"),
                                           ("zoo:swin_v2_b", "LANDSAT_SI_SATLAS")])
def test_releases_in_units_rsbench_has_not_are_refused(arch, weights):
    with pytest.raises(SpecError, match=f"card.yaml: weights {weights} of {arch}"):
        zoo_card(arch, "x.pth", pool="avg", weights=weights)


def upernet_on_swin(reduced, frozen: bool) -> SegmentationModel:
    reduced("swin_v2_t", builder="swin_models:swin_v2_t")
    torch.manual_seed(3)
    backbone = build_zoo("zoo:swin_v2_t", RGB, "avg")
    head = segmentation_head("upernet", backbone.embed_dim, 3, 16, level_channels(backbone))
    return SegmentationModel(backbone, head, frozen=frozen)


def test_upernet_takes_the_swin_levels(reduced):
    model = upernet_on_swin(reduced, frozen=True).eval()
    assert [lat[0].in_channels for lat in model.head.laterals] == [96, 192, 384]
    assert model.head.ppm.stages[0][1][0].in_channels == 768
    with torch.no_grad():
        logits = model(torch.rand(2, 3, 32, 32))
    assert logits.shape == (2, 3, 32, 32)


def test_finetuned_swin_gives_every_parameter_a_gradient(reduced):
    # the final norm and head after the last stage are dropped, as for a timm pyramid
    model = upernet_on_swin(reduced, frozen=False).train()
    model(torch.rand(2, 3, 32, 32)).mean().backward()
    assert [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None] == []


def test_faster_rcnn_body_takes_the_swin_levels(reduced):
    reduced("swin_v2_t", builder="swin_models:swin_v2_t")
    body = ViTDetBackbone(build_zoo("zoo:swin_v2_t", RGB, "avg"), 64, "faster_rcnn",
                          out_channels=32, frozen=True)
    assert isinstance(body.pyramid, LevelFPN) and body.pyramid.levels == [0, 1, 2, 3]
    with torch.no_grad():
        out = body(torch.rand(1, 3, 64, 64))
    assert [tuple(v.shape[1:]) for v in out.values()] == [(32, 16, 16), (32, 8, 8), (32, 4, 4),
                                                          (32, 2, 2), (32, 1, 1)]


def lr_scales(model, key) -> dict:
    """The lr scale rsbench's layer decay gives each parameter group ``key`` names."""
    scale = {id(p): g["lr_scale"] for g in param_groups_lrd(model, 0.05, 0.5) for p in g["params"]}
    out: dict = {}
    for name, param in model.named_parameters():
        out.setdefault(key(name.split(".")), set()).add(scale[id(param)])
    return out


def test_layer_decay_groups_as_timms_own_swin_v2(reduced):
    import timm

    reduced("swin_v2_t", builder="swin_models:swin_v2_t")
    def torchvision_key(p):  # features.0 stem; features.2k merging; features.2k+1.j blocks
        if p[0] != "features":
            return "norm"
        i = int(p[1])
        return "stem" if i == 0 else ("merge", i // 2) if i % 2 == 0 else ("block", i // 2, p[2])

    def timm_key(p):  # patch_embed; layers.k.downsample; layers.k.blocks.j; norm
        if p[0] in ("patch_embed", "norm"):
            return {"patch_embed": "stem", "norm": "norm"}[p[0]]
        return ("merge", int(p[1])) if p[2] == "downsample" else ("block", int(p[1]), p[3])

    reference = timm.create_model("swinv2_tiny_window8_256", depths=(1, 1, 1, 1), num_classes=0)
    got = lr_scales(build_zoo("zoo:swin_v2_t", RGB, "avg", device="meta").model, torchvision_key)
    expected = lr_scales(reference, timm_key)
    assert got == expected and expected["stem"] == {0.5 ** 4}
