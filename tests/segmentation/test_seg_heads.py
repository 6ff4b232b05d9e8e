import pytest
import torch
from tiny_models import tiny_vit

from rsbench.heads import LinearSegHead, SegmentationModel, UperHead, ViTPyramid, segmentation_head


@pytest.mark.parametrize(("patch", "size"), [(16, 64), (8, 64), (14, 56)])
def test_pyramid_has_strides_4_8_16_32_of_the_input(patch, size):
    backbone = tiny_vit(size, depth=4, patch=patch)
    feats = backbone.feature_maps(torch.rand(2, 3, size, size))
    assert [f.shape[-1] for f in feats] == [size // patch] * 4
    maps = ViTPyramid(backbone.embed_dim)(feats, (size, size))
    assert [m.shape[-1] for m in maps] == [size // 4, size // 8, -(-size // 16), -(-size // 32)]
    assert all(m.shape[1] == backbone.embed_dim for m in maps)


@pytest.mark.parametrize("patch", [16, 8])
def test_upernet_logits_at_input_resolution(patch):
    backbone = tiny_vit(64, depth=2, patch=patch)  # depth 2: levels repeat block 0
    model = SegmentationModel(backbone, UperHead(backbone.embed_dim, 5, channels=16))
    assert model.levels == [0, 0, 0, 1]
    out = model(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, 5, 64, 64)
    out.sum().backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not no_grad, no_grad  # DDP needs a gradient for every trainable parameter


def test_linear_head_and_bad_decoder_name():
    backbone = tiny_vit(32, depth=2, patch=8)
    head = segmentation_head("linear", backbone.embed_dim, 3)
    assert isinstance(head, LinearSegHead)
    assert SegmentationModel(backbone, head)(torch.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="upernet"):
        segmentation_head("fcn", 192, 3)


def test_frozen_encoder_stays_in_eval_mode_without_gradients():
    backbone = tiny_vit(32, depth=2, patch=8)
    model = SegmentationModel(backbone, segmentation_head("linear", backbone.embed_dim, 3), frozen=True)
    model.train()
    assert not backbone.training and model.head.training
    assert not any(p.requires_grad for p in backbone.parameters())
