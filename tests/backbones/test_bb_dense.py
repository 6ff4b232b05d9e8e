"""A feature pyramid's levels go straight into UperNet and the detectors, frozen or fine-tuned."""

from collections import OrderedDict
from types import SimpleNamespace

import pytest
import torch
from pyramid_models import TileData, normalised, small_pyramid

from rsbench.backbones.pyramid import level_channels
from rsbench.heads.detection import DetectionModel, LevelFPN, ViTDetBackbone
from rsbench.heads.upernet import GivenLevels, SegmentationModel, segmentation_head


def upernet_on(name: str, size: int = 32, frozen: bool = True) -> SegmentationModel:
    bb = small_pyramid(name, size)
    head = segmentation_head("upernet", bb.embed_dim, 3, 16, level_channels(bb))
    return SegmentationModel(bb, head, frozen=frozen)


def test_upernet_takes_the_levels_with_their_widths():
    model = upernet_on("resnet18").eval()
    head = model.head
    assert isinstance(head.pyramid, GivenLevels)  # no ViT neck: the levels are strides 4-32
    assert [lat[0].in_channels for lat in head.laterals] == [64, 128, 256]
    assert head.ppm.stages[0][1][0].in_channels == 512
    assert head.ppm_bottleneck[0].in_channels == 512 + 4 * 16
    with torch.no_grad():
        logits = model(torch.rand(2, 3, 32, 32))
    assert logits.shape == (2, 3, 32, 32)


@pytest.mark.parametrize("name", ["resnet18", "convnext_atto", "swin_tiny_patch4_window7_224"])
def test_finetuned_encoder_gives_every_parameter_a_gradient(name):
    # DDP needs a gradient for every trainable parameter: the final norm / head after the last
    # level (Swin's norm, ConvNeXt's head norm) are dropped as timm's features_only drops them.
    model = upernet_on(name, frozen=False).train()
    logits = model(torch.rand(2, 3, 32, 32))
    logits.float().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []


def test_segmentation_frozen_protocol_runs_end_to_end(tmp_path):
    import rsbench.tasks.segmentation as seg_plugin
    from rsbench.engine.trainer import EngineOptions
    from rsbench.protocols import ProtocolContext, protocol_module

    built: list = []

    def make_backbone(sharded=False, **kw):
        built.append(small_pyramid("resnet18", 32))
        return built[-1]

    protocol = {"name": "frozen", "decoder": "upernet", "channels": 16, "iterations": 2,
                "batch_size": 2, "warmup_iters": 1, "slide_stride": None}
    task = SimpleNamespace(task="fake_seg", path="fake.yaml", protocol=protocol,
                           dataset=SimpleNamespace(image_size=32))
    ctx = ProtocolContext(
        task=task, seed=0, opts=EngineOptions(accelerator="cpu", progress=False, root_dir=str(tmp_path)),
        make_backbone=make_backbone, cache=None, identity={}, plugin=seg_plugin,
        make_data=lambda train_transform=None: TileData(32, train_transform))
    before = {k: v.clone() for k, v in small_pyramid("resnet18", 32).state_dict().items()}
    result = protocol_module("segmentation", "frozen").run(ctx)
    assert all(torch.equal(before[k], v) for k, v in built[0].state_dict().items())
    assert set(seg_plugin.METRICS) <= set(result.metrics)
    assert {"iou_red", "iou_blue"} <= set(result.metrics)


def test_faster_rcnn_gets_an_fpn_over_c2_to_c5_and_a_pooled_p6():
    body = ViTDetBackbone(small_pyramid("resnet18", 64), 64, "faster_rcnn", out_channels=32)
    assert isinstance(body.pyramid, LevelFPN) and body.pyramid.levels == [0, 1, 2, 3]
    with torch.no_grad():
        out = body(torch.rand(1, 3, 64, 64))
    assert list(out) == ["0", "1", "2", "3", "pool"]
    assert [tuple(v.shape[1:]) for v in out.values()] == [(32, 16, 16), (32, 8, 8), (32, 4, 4),
                                                          (32, 2, 2), (32, 1, 1)]


def test_retinanet_fpn_starts_at_c3_as_torchvisions_resnet_fpn():
    body = ViTDetBackbone(small_pyramid("resnet18", 64), 64, "retinanet", out_channels=32)
    assert body.pyramid.levels == [1, 2, 3]
    assert [b[0].in_channels for b in body.pyramid.fpn.inner_blocks] == [128, 256, 512]
    with torch.no_grad():
        out = body(torch.rand(1, 3, 64, 64))
    assert isinstance(out, OrderedDict) and [v.shape[-1] for v in out.values()] == [8, 4, 2, 1, 1]


@pytest.mark.parametrize("detector", ["faster_rcnn", "fcos"])
def test_detector_trains_and_predicts_on_a_pyramid(detector):
    torch.manual_seed(0)
    model = DetectionModel(small_pyramid("resnet18", 64), 2, 64, detector, channels=32)
    images = [torch.rand(3, 64, 64), torch.rand(3, 48, 64)]
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 30.0, 30.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.tensor([[10.0, 8.0, 40.0, 40.0]]), "labels": torch.tensor([0])}]
    model.train()
    losses = model(images, targets)
    sum(losses.values()).backward()
    assert all(torch.isfinite(v) for v in losses.values())
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []
    model.eval()
    with torch.no_grad():
        out = model(images)
    assert len(out) == 2 and all(o["boxes"].shape[-1] == 4 for o in out)


@pytest.mark.parametrize("detector", ["faster_rcnn", "retinanet"])
def test_detector_levels_equal_torchvisions_resnet_fpn(detector):
    # torchvision's ResNet-FPN detectors: BackboneWithFPN over layer1-4 with a max-pool P6
    # (Faster R-CNN), over layer2-4 with P6 / P7 from P5 (RetinaNet v2); same weights here.
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

    bb = small_pyramid("resnet18", 64)
    body = ViTDetBackbone(bb, 64, detector, out_channels=32).eval()
    layers = ["layer1", "layer2", "layer3", "layer4"][0 if detector == "faster_rcnn" else 1:]
    extra = LastLevelMaxPool() if detector == "faster_rcnn" else LastLevelP6P7(32, 32)
    ref = BackboneWithFPN(bb.model, {n: str(i) for i, n in enumerate(layers)},
                          [bb.level_channels[int(n[-1]) - 1] for n in layers], 32,
                          extra_blocks=extra).eval()
    ref.fpn.inner_blocks.load_state_dict(body.pyramid.fpn.inner_blocks.state_dict())
    ref.fpn.layer_blocks.load_state_dict(body.pyramid.fpn.layer_blocks.state_dict())
    if detector == "retinanet":
        ref.fpn.extra_blocks.p6.load_state_dict(body.p6.state_dict())
        ref.fpn.extra_blocks.p7.load_state_dict(body.p7.state_dict())
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours, theirs = body(x), ref(normalised(x))
    assert len(ours) == len(theirs) == 5
    for a, b in zip(ours.values(), theirs.values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
