"""Horizontal-box detectors on a plain ViT: ViTDet's simple feature pyramid + torchvision models.

``SimpleFeaturePyramid`` follows ViTDet (Li et al., ECCV 2022): every level comes from the LAST
ViT map only (stride = patch size). For patch 16: stride 4 = two 2x2 ConvTranspose (LayerNorm +
GELU between), stride 8 = one ConvTranspose, stride 16 = identity, stride 32 = 2x2 max-pool;
each level then goes through a 1x1 conv + LayerNorm and a 3x3 conv + LayerNorm to 256 channels.
Other patch sizes use the power-of-two number of up/down steps nearest to ``patch / stride`` and
are resized bilinearly when that is not exact (patch 14), so every level is ``ceil(H / s)``.
Faster R-CNN gets an extra P6 = stride-2 subsample of P5 (ViTDet / torchvision ``pool``) for the
RPN; RetinaNet and FCOS use P3-P7 with P6 / P7 from 3x3 stride-2 convs on P5 (torchvision's
``LastLevelP6P7``).

``ViTDetBackbone`` makes that a torchvision-style backbone (``out_channels`` 256, an OrderedDict
of maps). Its input is the torchvision transform's padded batch; since a ViT wants its fixed
square size, the batch is zero-padded (bottom / right) to ``image_size`` and the maps are cropped
back, so the anchor strides torchvision infers stay right. torchvision's own normalisation is
disabled (mean 0, std 1): the rsbench ``Backbone`` normalises [0, 1] inputs itself.

A feature pyramid (``rsbench.backbones.pyramid``: ResNet, ConvNeXt, Swin) has its own levels at
strides 4-32: they go into torchvision's ``FeaturePyramidNetwork`` as torchvision's
ResNet-FPN detectors build it (``LevelFPN``: levels C2-C5 for Faster R-CNN, C3-C5 for RetinaNet
and FCOS, whose P6 / P7 come from P5 as above), with no simple pyramid and no patch size.

Departures from ViTDet: global attention in every block with the encoder's own absolute position
embedding (no windowed / relative-position attention), and torchvision's default box head (two
FC layers) instead of ViTDet's 4-conv + 1-FC head.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from rsbench.backbones.pyramid import level_channels
from rsbench.config import SpecError

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone

STRIDES = (4, 8, 16, 32)
DETECTORS = ("faster_rcnn", "retinanet", "fcos")


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (ViTDet's "LN" in conv layers)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _scale_layers(dim: int, steps: int) -> tuple[nn.Module, int]:
    """``steps`` > 0: that many 2x ConvTranspose (halving width); < 0: 2x max-pools."""
    if steps <= 0:
        return (nn.Sequential(*[nn.MaxPool2d(2, 2) for _ in range(-steps)]) if steps else
                nn.Identity()), dim
    layers, d = [], dim
    for i in range(steps):
        if i:
            layers += [LayerNorm2d(d), nn.GELU()]
        layers.append(nn.ConvTranspose2d(d, d // 2, 2, 2))
        d //= 2
    return nn.Sequential(*layers), d


class SimpleFeaturePyramid(nn.Module):
    """ViTDet's simple pyramid: one ViT map at stride ``patch_size`` -> strides 4/8/16/32.

    Args:
        embed_dim: ViT width.
        patch_size: stride of the ViT map.
        out_channels: pyramid width (256 in ViTDet).
        strides: output strides.
    """

    def __init__(self, embed_dim: int, patch_size: int, out_channels: int = 256,
                 strides: tuple[int, ...] = STRIDES) -> None:
        super().__init__()
        self.strides = tuple(strides)
        self.scales, self.outputs = nn.ModuleList(), nn.ModuleList()
        for s in self.strides:
            scale, d = _scale_layers(embed_dim, round(math.log2(patch_size / s)))
            self.scales.append(scale)
            self.outputs.append(nn.Sequential(
                nn.Conv2d(d, out_channels, 1, bias=False), LayerNorm2d(out_channels),
                nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                LayerNorm2d(out_channels)))

    def forward(self, x: torch.Tensor, image_size) -> list[torch.Tensor]:
        h, w = image_size
        outs = []
        for s, scale, out in zip(self.strides, self.scales, self.outputs, strict=True):
            y = scale(x)
            size = (math.ceil(h / s), math.ceil(w / s))
            if tuple(y.shape[-2:]) != size:
                y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
            outs.append(out(y))
        return outs


class LevelFPN(nn.Module):
    """torchvision's ``FeaturePyramidNetwork`` over a feature pyramid's levels ``levels``
    (0-3: strides 4-32) to ``out_channels``; returns one map per level, finest first."""

    def __init__(self, channels: list[int], levels: list[int], out_channels: int = 256) -> None:
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork

        self.levels = list(levels)
        self.fpn = FeaturePyramidNetwork([channels[i] for i in self.levels], out_channels)

    def forward(self, maps: list[torch.Tensor], image_size) -> list[torch.Tensor]:
        named = OrderedDict((str(i), m) for i, m in zip(self.levels, maps, strict=True))
        return list(self.fpn(named).values())


class ViTDetBackbone(nn.Module):
    """rsbench ``Backbone`` + simple pyramid (a feature pyramid: + FPN) as a torchvision
    detection backbone.

    Returns ``{"0": P2, "1": P3, "2": P4, "3": P5, "pool": P6}`` for ``faster_rcnn`` and
    ``{"0": P3, ..., "4": P7}`` for ``retinanet`` / ``fcos``. With ``frozen=True`` the encoder
    has ``requires_grad`` off, stays in eval mode and runs under ``no_grad``.
    """

    def __init__(self, backbone: Backbone, image_size: int, detector: str = "faster_rcnn",
                 out_channels: int = 256, frozen: bool = False) -> None:
        super().__init__()
        if detector not in DETECTORS:
            raise SpecError(f"detector {detector!r}: use one of {', '.join(DETECTORS)}")
        self.backbone, self.image_size, self.detector, self.frozen = backbone, image_size, detector, frozen
        self.out_channels = out_channels
        channels = level_channels(backbone)
        self.pyramid: nn.Module
        if channels is None:
            self.patch_size = patch_size_of(backbone)
            self.level = backbone.depth - 1
            self.pyramid = SimpleFeaturePyramid(backbone.embed_dim, self.patch_size, out_channels)
        else:  # torchvision's ResNet-FPN detectors: C2-C5 (Faster R-CNN) or C3-C5 (P6/P7 after)
            self.levels = [0, 1, 2, 3] if detector == "faster_rcnn" else [1, 2, 3]
            self.pyramid = LevelFPN(channels, self.levels, out_channels)
        if detector != "faster_rcnn":
            self.p6 = nn.Conv2d(out_channels, out_channels, 3, 2, 1)
            self.p7 = nn.Conv2d(out_channels, out_channels, 3, 2, 1)
        if frozen:
            backbone.requires_grad_(False)
            backbone.eval()
        else:
            from rsbench.heads.upernet import drop_unused_for_maps

            drop_unused_for_maps(backbone)  # unused by feature maps; DDP wants every grad

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def encoder_maps(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        """The last ViT map (a feature pyramid: its FPN levels) of ``x`` zero-padded to
        ``image_size`` (cropped back after the pyramid)."""
        h, w = x.shape[-2:]
        pad_h, pad_w = self.image_size - h, self.image_size - w
        if pad_h < 0 or pad_w < 0:
            raise SpecError(f"input {h}x{w} exceeds the detector's image_size {self.image_size}")
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            if isinstance(self.pyramid, LevelFPN):
                return self.backbone.feature_maps(x, self.pyramid.levels)
            return self.backbone.feature_maps(x, [self.level])[0]

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        h, w = x.shape[-2:]
        feats = self.pyramid(self.encoder_maps(x), (self.image_size, self.image_size))
        strides = STRIDES[-len(feats):]  # a RetinaNet / FCOS feature pyramid starts at stride 8
        feats = [f[..., :math.ceil(h / s), :math.ceil(w / s)] for f, s in zip(feats, strides, strict=True)]
        if self.detector == "faster_rcnn":
            names = ["0", "1", "2", "3", "pool"]
            feats.append(F.max_pool2d(feats[-1], 1, 2))
        else:
            names = ["0", "1", "2", "3", "4"]
            p6 = self.p6(feats[-1])
            feats = [*feats[-3:], p6, self.p7(F.relu(p6))]
        return OrderedDict(zip(names, feats, strict=True))


def patch_size_of(backbone: Backbone) -> int:
    """The ViT's patch size (stride of its feature maps)."""
    patch = getattr(getattr(backbone.model, "patch_embed", None), "patch_size", None)
    if patch is None:
        raise SpecError(f"{getattr(backbone, 'arch', backbone)}: the simple feature pyramid "
                         "needs a ViT with patch_embed.patch_size")
    return int(patch[0] if isinstance(patch, tuple | list) else patch)


def build_detector(backbone: Backbone, num_classes: int, image_size: int,
                   detector: str = "faster_rcnn", frozen: bool = False, channels: int = 256,
                   score_thresh: float = 0.05, detections_per_img: int = 100,
                   **detector_kwargs) -> nn.Module:
    """A torchvision detector over ``backbone`` (an rsbench ``Backbone``).

    ``num_classes`` counts object classes only; Faster R-CNN adds its background class itself,
    so ``DetectionModel`` shifts labels by one for it. ``detector_kwargs`` go to the torchvision
    constructor (e.g. ``box_batch_size_per_image`` for Faster R-CNN).
    """
    from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    body = ViTDetBackbone(backbone, image_size, detector, out_channels=channels, frozen=frozen)
    c = backbone.input_spec.in_chans
    common = {"min_size": image_size, "max_size": image_size,
              "image_mean": [0.0] * c, "image_std": [1.0] * c,
              "detections_per_img": detections_per_img, **detector_kwargs}
    if detector == "faster_rcnn":
        anchors = AnchorGenerator(((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5)
        return FasterRCNN(body, num_classes + 1, rpn_anchor_generator=anchors,
                          box_score_thresh=score_thresh, **common)
    if detector == "retinanet":
        sizes = tuple((x, int(x * 2 ** (1 / 3)), int(x * 2 ** (2 / 3))) for x in (32, 64, 128, 256, 512))
        anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 5)
        return RetinaNet(body, num_classes, anchor_generator=anchors, score_thresh=score_thresh,
                         **common)
    anchors = AnchorGenerator(((8,), (16,), (32,), (64,), (128,)), ((1.0,),) * 5)
    return FCOS(body, num_classes, anchor_generator=anchors, score_thresh=score_thresh, **common)


class DetectionModel(nn.Module):
    """A torchvision detector with 0-based labels in and out, whatever its background convention.

    ``forward(images, targets)`` returns the loss dict in training mode and per-image
    ``{"boxes" xyxy, "scores", "labels" 0-based}`` in eval mode.
    """

    def __init__(self, backbone: Backbone, num_classes: int, image_size: int,
                 detector: str = "faster_rcnn", frozen: bool = False, **kwargs) -> None:
        super().__init__()
        self.detector = build_detector(backbone, num_classes, image_size, detector, frozen, **kwargs)
        self.label_offset = 1 if detector == "faster_rcnn" else 0

    @property
    def encoder(self) -> Backbone:
        """The rsbench ``Backbone`` inside."""
        return self.detector.backbone.backbone  # type: ignore[union-attr,return-value]  # torchvision's untyped nesting

    def forward(self, images: list[torch.Tensor], targets: list[dict] | None = None):
        if targets is not None:
            targets = [{"boxes": t["boxes"], "labels": t["labels"] + self.label_offset}
                       for t in targets]
        out = self.detector(list(images), targets)
        if self.training:
            return out
        return [{**o, "labels": o["labels"] - self.label_offset} for o in out]
