"""ViTDet simple pyramid shapes and every torchvision detector on an rsbench Backbone."""

import pytest
import torch
from tiny_models import tiny_vit

from rsbench.heads.detection import DetectionModel, SimpleFeaturePyramid, ViTDetBackbone


@pytest.mark.parametrize("patch", [16, 8])
def test_pyramid_strides_and_channels(patch):
    body = ViTDetBackbone(tiny_vit(patch=patch), 64, "faster_rcnn")
    out = body(torch.rand(2, 3, 64, 64))
    assert list(out) == ["0", "1", "2", "3", "pool"]
    assert [tuple(v.shape) for v in out.values()] == [
        (2, 256, 16, 16), (2, 256, 8, 8), (2, 256, 4, 4), (2, 256, 2, 2), (2, 256, 1, 1)]
    assert body.out_channels == 256


def test_pyramid_uses_deconvs_for_patch16_and_pools_for_patch8():
    p16 = SimpleFeaturePyramid(64, 16, 32)
    p8 = SimpleFeaturePyramid(64, 8, 32)
    n_deconv = [sum(isinstance(m, torch.nn.ConvTranspose2d) for m in s.modules()) for s in p16.scales]
    n_pool = [sum(isinstance(m, torch.nn.MaxPool2d) for m in s.modules()) for s in p8.scales]
    assert n_deconv == [2, 1, 0, 0] and n_pool == [0, 0, 1, 2]


def test_retinanet_levels_are_p3_to_p7():
    out = ViTDetBackbone(tiny_vit(patch=8), 64, "retinanet", out_channels=32)(torch.rand(1, 3, 64, 64))
    assert [v.shape[-1] for v in out.values()] == [8, 4, 2, 1, 1]


def test_smaller_input_is_padded_to_the_vit_size_and_cropped_back():
    out = ViTDetBackbone(tiny_vit(patch=8), 64, out_channels=32)(torch.rand(1, 3, 48, 64))
    assert tuple(out["0"].shape[-2:]) == (12, 16) and tuple(out["3"].shape[-2:]) == (2, 2)


@pytest.mark.parametrize("detector", ["faster_rcnn", "retinanet", "fcos"])
def test_detector_train_and_eval(detector):
    model = DetectionModel(tiny_vit(patch=8), 3, 64, detector, channels=32)
    images = [torch.rand(3, 64, 64), torch.rand(3, 64, 64)]
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 30.0, 40.0]]), "labels": torch.tensor([0])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
    model.train()
    losses = model(images, targets)
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    assert model.encoder.model.blocks[0].attn.qkv.weight.grad is not None
    model.eval()
    with torch.no_grad():
        out = model(images)
    assert len(out) == 2
    for o in out:
        assert o["boxes"].shape[1] == 4 and len(o["boxes"]) <= 100
        if len(o["labels"]):
            assert 0 <= int(o["labels"].min()) and int(o["labels"].max()) < 3


def test_frozen_backbone_gets_no_gradient_and_stays_in_eval():
    model = DetectionModel(tiny_vit(patch=8), 2, 64, "fcos", frozen=True, channels=32)
    model.train()
    assert not model.encoder.training
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 30.0, 40.0]]), "labels": torch.tensor([1])}] * 2
    sum(model([torch.rand(3, 64, 64)] * 2, targets).values()).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(not p.requires_grad for p in model.encoder.parameters())
