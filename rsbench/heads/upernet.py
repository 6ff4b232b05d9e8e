"""Segmentation decoders on multi-level ViT feature maps: UperNet and a per-patch linear probe.

``ViTPyramid`` turns four same-stride ViT maps into strides 4/8/16/32 the way ViTDet and RVSA do
for patch 16 (2x ConvTranspose -> norm -> GELU -> ConvTranspose; one ConvTranspose; identity;
2x2 max-pool). Other patch sizes (14, 8) go through the same layers and are then resized
bilinearly to the intended strides relative to the input, so the decoder always sees
``ceil(H / s)`` maps. ``UperHead`` follows mmseg's ``UPerHead`` (PPM with pool scales 1, 2, 3, 6
on the deepest level, FPN laterals + top-down sum, 3x3 FPN convs, fuse, dropout 0.1, 1x1
classifier); mmseg's auxiliary FCN head (loss weight 0.4) is not used.

A feature pyramid (``rsbench.backbones.pyramid``: ResNet, ConvNeXt, Swin) already has levels at
strides 4-32 with their own widths (``level_channels``): they go into ``UperHead`` as they are,
as mmseg's ``UPerHead(in_channels=[...])`` takes a ResNet's or a Swin's four stages.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from rsbench.backbones.pyramid import PyramidBackbone
from rsbench.config import SpecError

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone

STRIDES = (4, 8, 16, 32)


def conv_bn_relu(cin: int, cout: int, kernel: int) -> nn.Sequential:
    """mmseg's ``ConvModule`` with BN and ReLU (SyncBN under DDP: the protocols set sync_batchnorm)."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def resize(x: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize (align_corners False, as mmseg); a no-op at the same size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ViTPyramid(nn.Module):
    """Four ViT maps at stride ``patch_size`` -> maps at strides 4, 8, 16, 32 of the input."""

    def __init__(self, embed_dim: int, norm: str = "bn") -> None:
        super().__init__()
        d = embed_dim
        norm_layer = nn.BatchNorm2d(d) if norm == "bn" else nn.GroupNorm(32 if d % 32 == 0 else 1, d)
        self.branches = nn.ModuleList([
            nn.Sequential(nn.ConvTranspose2d(d, d, 2, 2), norm_layer, nn.GELU(),
                          nn.ConvTranspose2d(d, d, 2, 2)),
            nn.ConvTranspose2d(d, d, 2, 2),
            nn.Identity(),
            nn.MaxPool2d(2, 2),
        ])

    def forward(self, feats: list[torch.Tensor], image_size) -> list[torch.Tensor]:
        if len(feats) != 4:
            raise ValueError(f"ViTPyramid needs 4 feature maps, got {len(feats)}")
        h, w = image_size
        return [resize(branch(f), (math.ceil(h / s), math.ceil(w / s)))
                for branch, f, s in zip(self.branches, feats, STRIDES, strict=True)]


class GivenLevels(nn.Module):
    """A feature pyramid's four levels, already at strides 4-32: passed on unchanged."""

    def forward(self, feats: list[torch.Tensor], image_size) -> list[torch.Tensor]:
        if len(feats) != 4:
            raise ValueError(f"UperHead needs 4 feature maps, got {len(feats)}")
        return feats


class PPM(nn.Module):
    """Pyramid pooling: average pools at ``scales``, 1x1 conv each, upsampled and concatenated."""

    def __init__(self, cin: int, channels: int, scales=(1, 2, 3, 6)) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(s), conv_bn_relu(cin, channels, 1)) for s in scales)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [resize(stage(x), x.shape[-2:]) for stage in self.stages]


class UperHead(nn.Module):
    """mmseg ``UPerHead`` over the ViT pyramid (or a feature pyramid's levels); returns logits
    at stride 4.

    Args:
        embed_dim: width of every ViT level.
        num_classes: output classes.
        channels: decoder width (512 in the RVSA / mmseg recipe).
        dropout: ``Dropout2d`` before the classifier (mmseg 0.1).
        level_channels: the widths of a feature pyramid's levels at strides 4-32, which then
            replace the ViT pyramid (mmseg's ``in_channels``); None for a ViT.
    """

    def __init__(self, embed_dim: int, num_classes: int, channels: int = 512,
                 dropout: float = 0.1, pool_scales=(1, 2, 3, 6),
                 level_channels: list[int] | None = None) -> None:
        super().__init__()
        c = channels
        widths = list(level_channels) if level_channels is not None else [embed_dim] * 4
        self.pyramid: nn.Module = ViTPyramid(embed_dim) if level_channels is None else GivenLevels()
        self.ppm = PPM(widths[3], c, pool_scales)
        self.ppm_bottleneck = conv_bn_relu(widths[3] + len(pool_scales) * c, c, 3)
        self.laterals = nn.ModuleList(conv_bn_relu(w, c, 1) for w in widths[:3])
        self.fpn_convs = nn.ModuleList(conv_bn_relu(c, c, 3) for _ in range(3))
        self.fuse = conv_bn_relu(4 * c, c, 3)
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(c, num_classes, 1)

    def forward(self, feats: list[torch.Tensor], image_size) -> torch.Tensor:
        x = self.pyramid(feats, image_size)
        deepest = x[3]
        lat = [conv(f) for conv, f in zip(self.laterals, x[:3], strict=True)]
        lat.append(self.ppm_bottleneck(torch.cat([deepest, *self.ppm(deepest)], dim=1)))
        for i in range(3, 0, -1):
            lat[i - 1] = lat[i - 1] + resize(lat[i], lat[i - 1].shape[-2:])
        outs = [conv(f) for conv, f in zip(self.fpn_convs, lat[:3], strict=True)] + [lat[3]]
        size = outs[0].shape[-2:]
        fused = self.fuse(torch.cat([resize(o, size) for o in outs], dim=1))
        return self.classifier(self.dropout(fused))


class LinearSegHead(nn.Module):
    """Per-patch linear probe: BatchNorm + 1x1 conv on the last map (the cheap frozen probe)."""

    def __init__(self, embed_dim: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(embed_dim)
        self.classifier = nn.Conv2d(embed_dim, num_classes, 1)

    def forward(self, feats: list[torch.Tensor], image_size) -> torch.Tensor:
        return self.classifier(self.norm(feats[-1]))


def segmentation_head(kind: str, embed_dim: int, num_classes: int, channels: int = 512,
                      level_channels: list[int] | None = None) -> nn.Module:
    """``upernet`` or ``linear``; a one-line error otherwise. ``level_channels``: a feature
    pyramid's widths (``rsbench.backbones.pyramid.level_channels``), None for a ViT."""
    if kind == "upernet":
        return UperHead(embed_dim, num_classes, channels=channels, level_channels=level_channels)
    if kind == "linear":  # on the last map: a pyramid's stride-32 level
        return LinearSegHead(level_channels[-1] if level_channels else embed_dim, num_classes)
    raise SpecError(f"decoder {kind!r}: use 'upernet' or 'linear'")


def drop_final_norms(model: nn.Module) -> None:
    """Replace a ViT's final ``norm`` / ``fc_norm`` (unused by ``feature_maps``) with Identity."""
    if not hasattr(model, "blocks"):
        return
    for name in ("norm", "fc_norm"):
        if isinstance(getattr(model, name, None), nn.Module):
            setattr(model, name, nn.Identity())


def drop_unused_for_maps(backbone: Backbone) -> None:
    """Replace what feature maps never pass through with Identity: a ViT's final norms, the
    layers after a feature pyramid's last level (its final norm and head)."""
    if isinstance(backbone, PyramidBackbone):
        backbone.drop_after_levels()
    else:
        drop_final_norms(backbone.model)


def maps_at(backbone: Backbone, x: torch.Tensor, levels: list[int]) -> list[torch.Tensor]:
    """One feature map per entry of ``levels``; a shallow ViT may repeat a block index, which
    timm's ``forward_intermediates`` would return once."""
    unique = sorted(set(levels))
    maps = dict(zip(unique, backbone.feature_maps(x, unique), strict=True))
    return [maps[i] for i in levels]


class SegmentationModel(nn.Module):
    """Backbone + decoder; ``forward`` returns logits ``[B, K, H, W]`` at input resolution.

    With ``frozen=True`` the encoder has ``requires_grad`` off, stays in eval mode (dropout and
    drop path off) whatever ``train()`` is called with, and runs under ``no_grad``. Otherwise the
    encoder's final norms (``norm``, ``fc_norm``; a feature pyramid's final norm and head), which
    intermediate maps never pass through, are replaced by ``Identity`` so that every trainable
    parameter gets a gradient (DDP requires it).
    """

    def __init__(self, backbone: Backbone, head: nn.Module, levels: list[int] | None = None,
                 frozen: bool = False) -> None:
        super().__init__()
        self.backbone, self.head, self.frozen = backbone, head, frozen
        self.levels = list(levels) if levels is not None else backbone.default_levels()
        if frozen:
            backbone.requires_grad_(False)
            backbone.eval()
        else:
            drop_unused_for_maps(backbone)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        feats = self.features(x)
        return resize(self.head(feats, size), size)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """One map per entry of ``levels`` (a shallow ViT may repeat a block index)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            return maps_at(self.backbone, x, self.levels)
