"""timm CNNs and hierarchical transformers as feature pyramids: levels as timm's features_only
model gives them, pooled features as timm's forward_features + global pool."""

import pytest
import timm
import torch
from pyramid_models import SMALL, normalised, small_pyramid
from torch.nn import functional as F

from rsbench.backbones import Backbone, InputSpec, build_backbone
from rsbench.backbones.pyramid import PyramidBackbone, TimmPyramid, level_channels
from rsbench.errors import SpecError

NAMES = list(SMALL)


def features_only_twin(name: str, backbone: TimmPyramid, in_chans: int = 3):
    """timm's own ``features_only`` model at strides 4-32 carrying ``backbone``'s weights.

    Its state dict holds the same tensors in the same order (ConvNeXt's are renamed
    ``stages_0``...: timm flattens the sequential modules), minus the head and final norm."""
    kwargs = dict(SMALL[name])
    if "swin" in name:
        kwargs["img_size"] = backbone.input_spec.img_size
    ref = timm.create_model(name, features_only=True, in_chans=in_chans,
                            out_indices=backbone.timm_indices, **kwargs).eval()
    ours = list(backbone.model.state_dict().values())
    theirs = ref.state_dict()
    assert len(theirs) <= len(ours)
    ref.load_state_dict({k: ours[i] for i, k in enumerate(theirs)})
    return ref


@pytest.mark.parametrize("name", NAMES)
def test_levels_equal_timm_features_only_model(name):
    bb = small_pyramid(name, size=32)
    ref = features_only_twin(name, bb)
    assert bb.level_channels == ref.feature_info.channels()
    assert ref.feature_info.reduction() == [4, 8, 16, 32] == list(bb.level_strides)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = bb.feature_maps(x), ref(normalised(x))
    if "swin" in name:  # timm's Swin features are NHWC; rsbench's levels are NCHW throughout
        theirs = [t.permute(0, 3, 1, 2) for t in theirs]
    assert [tuple(m.shape) for m in ours] == [(2, c, 32 // s, 32 // s) for c, s in
                                              zip(bb.level_channels, (4, 8, 16, 32), strict=True)]
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_band_count_comes_from_the_input_spec():
    bb = small_pyramid("resnet18", size=32, in_chans=4)
    assert bb.model.conv1.weight.shape[1] == 4
    ref = features_only_twin("resnet18", bb, in_chans=4)
    x = torch.rand(1, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(bb.feature_maps(x, [3])[0], ref(normalised(x))[3], rtol=0, atol=0)


def hand_pooled(name: str, model, x: torch.Tensor) -> torch.Tensor:
    """timm's forward_features then the global average, by hand (ConvNeXt: then its head
    LayerNorm, eps 1e-6, which timm applies to the pooled vector)."""
    feats = model.forward_features(x)
    if "swin" in name:  # NHWC after the final norm
        return feats.mean(dim=(1, 2))
    pooled = feats.mean(dim=(2, 3))
    if "convnext" in name:
        norm = model.head.norm
        pooled = F.layer_norm(pooled, pooled.shape[-1:], norm.weight, norm.bias, 1e-6)
    return pooled


@pytest.mark.parametrize("name", NAMES)
def test_pooled_is_global_average_of_last_stage(name):
    bb = small_pyramid(name, size=32)
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, ref = bb.pooled(x), hand_pooled(name, bb.model, normalised(x))
    assert ours.shape == (3, bb.embed_dim) and bb.embed_dim == bb.level_channels[-1]
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def test_every_level_order_and_repeat_is_served():
    bb = small_pyramid("resnet18", size=32)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        every = bb.feature_maps(x)
        picked = bb.feature_maps(x, [3, 1, 3])
    assert [torch.equal(a, b) for a, b in zip(picked, [every[3], every[1], every[3]], strict=True)] \
        == [True] * 3
    with pytest.raises(SpecError, match="levels 0-3"):
        bb.feature_maps(x, [4])


def test_a_pyramid_has_no_class_token():
    with pytest.raises(SpecError, match="set pool: avg"):
        build_backbone("timm:resnet18", InputSpec(img_size=32), pool="cls")


def test_vits_stay_token_encoders():
    vit = build_backbone("timm:vit_tiny_patch16_224", InputSpec(img_size=32), depth=1)
    assert type(vit) is Backbone and level_channels(vit) is None
    assert isinstance(small_pyramid("resnet18", 32), PyramidBackbone)


def test_a_dilated_cnn_is_no_pyramid():
    bb = build_backbone("timm:resnet18", InputSpec(img_size=32), pool="avg", output_stride=8)
    assert level_channels(bb) is None  # strides 4, 8, 8, 8: nothing for the dense heads
    with pytest.raises(SpecError, match=r"no single level at each of strides 4, 8, 16, 32"):
        TimmPyramid(bb.model, bb.input_spec, "avg", bb.arch)


def test_layer_decay_follows_timms_stage_block_mapping():
    from rsbench.protocols.lr_decay import param_groups_lrd

    bb = small_pyramid("resnet18", size=32)
    groups = param_groups_lrd(bb.model, 0.05, 0.5)
    scale = {id(p): g["lr_scale"] for g in groups for p in g["params"]}
    named = dict(bb.model.named_parameters())
    # blocks (2, 1, 1, 1): stem 0, layer1.0 1, layer1.1 2, layer2.0 3, layer3.0 4, layer4.0 5
    assert scale[id(named["conv1.weight"])] == 0.5 ** 5
    assert scale[id(named["layer1.0.conv1.weight"])] == 0.5 ** 4
    assert scale[id(named["layer1.1.bn2.bias"])] == 0.5 ** 3
    assert scale[id(named["layer2.0.downsample.0.weight"])] == 0.5 ** 2
    assert scale[id(named["layer4.0.conv2.weight"])] == 1.0
    assert len(scale) == len(named)
