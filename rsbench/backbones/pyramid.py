"""Hierarchical encoders (ResNet, ConvNeXt, Swin, ...) as feature pyramids behind ``Backbone``.

A CNN or hierarchical transformer already has maps at strides 4, 8, 16 and 32 of the input, each
with its own width. ``PyramidBackbone`` states them (``level_strides``, ``level_channels``) and
``feature_maps`` returns them; the dense heads take these levels as they are (UperNet's
laterals and PPM, the detector's FPN), with none of the ViT necks that build four strides from
one stride-16 map (``heads.upernet.ViTPyramid``, ``heads.detection.SimpleFeaturePyramid``).

``TimmPyramid`` is any timm model whose ``feature_info`` has those four strides. The levels are
the maps ``timm.create_model(name, features_only=True)`` returns at those strides, taken from
the full headless model's ``forward_intermediates``, so its state dict keeps timm's own keys
(a classifier checkpoint loads tensor for tensor, its head left out) and the pooled features
keep the layers after the last stage:

- ``pooled`` is timm's ``forward_head(forward_features(x), pre_logits=True)``: the global average
  of the last stage, after Swin's final norm and before ConvNeXt's head norm, which timm (and
  the ConvNeXt paper) apply to the pooled vector;
- there is no class token: a card's ``pool`` must be ``avg``;
- layer-wise lr decay (``protocols.lr_decay``) follows timm's ``param_groups_layer_decay`` over
  the model's fine ``group_matcher``: the stem is layer 0, each block of each stage the next
  layer in order (ResNet-18: ``layer1.0`` is 1 ... ``layer4.1`` is 8), layers after the last
  block join it; the scale is ``layer_decay ** (last - layer)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rsbench.backbones.base import Backbone, Pool
from rsbench.backbones.input_spec import InputSpec
from rsbench.errors import SpecError

STRIDES = (4, 8, 16, 32)


class PyramidBackbone(Backbone):
    """An encoder with four maps at ``STRIDES``; what the dense heads take level by level.

    Subclasses set ``level_channels`` (the width of each level) and implement ``level_maps``.
    Level indices 0-3 (``default_levels``) name the strides 4, 8, 16, 32.
    """

    level_channels: list[int]
    level_strides: tuple[int, ...] = STRIDES

    def __init__(self, model: nn.Module, input_spec: InputSpec, pool: Pool, arch: str) -> None:
        if pool != "avg":
            raise SpecError(f"{arch} is a feature pyramid with no class token: set pool: avg in "
                            f"the model card (got {pool!r})")
        super().__init__(model, input_spec, pool, arch)

    @property
    def depth(self) -> int:
        """Number of levels (stages)."""
        return len(self.level_channels)

    def default_levels(self, n: int = 4) -> list[int]:
        """All four levels, finest first (``n`` is a ViT's choice of blocks; a pyramid has four)."""
        return list(range(len(self.level_channels)))

    def feature_maps(self, x: torch.Tensor, levels: list[int] | None = None) -> list[torch.Tensor]:
        """Maps ``[B, C_i, H/s_i, W/s_i]`` at the given levels (0-3: strides 4-32), NCHW."""
        levels = self.default_levels() if levels is None else list(levels)
        bad = [i for i in levels if not 0 <= i < len(self.level_channels)]
        if bad:
            raise SpecError(f"{self.arch}: levels {bad} do not exist; a feature pyramid has "
                            f"levels 0-{len(self.level_channels) - 1} (strides "
                            f"{', '.join(map(str, self.level_strides))})")
        return self.level_maps(self.normalize(x), levels)

    def level_maps(self, x: torch.Tensor, levels: list[int]) -> list[torch.Tensor]:
        """The maps of normalised input ``x`` at ``levels`` (any order, repeats allowed)."""
        raise NotImplementedError

    def drop_after_levels(self) -> None:
        """Replace the layers after the last level (final norm, head) with ``Identity``: dense
        fine-tuning never reaches them, and DDP wants a gradient for every trainable parameter.
        ``pooled`` is unavailable afterwards."""
        raise NotImplementedError


def pyramid_strides(feature_info: list[dict]) -> list[int] | None:
    """Positions of the ``STRIDES`` entries of a timm ``feature_info``; None when it has not
    exactly one entry at each (a ViT: every entry at its patch size; a dilated CNN)."""
    reductions = [int(f["reduction"]) for f in feature_info]
    found = [reductions.index(s) if reductions.count(s) == 1 else -1 for s in STRIDES]
    return None if -1 in found else found


def is_pyramid(model: nn.Module) -> bool:
    """Whether a timm ``model`` has one level at each of strides 4, 8, 16 and 32."""
    info = getattr(model, "feature_info", None)
    return isinstance(info, list | tuple) and pyramid_strides(list(info)) is not None


class TimmPyramid(PyramidBackbone):
    """A timm CNN or hierarchical transformer (``timm:resnet50``, ``timm:convnext_tiny``,
    ``timm:swin_tiny_patch4_window7_224``...), built headless (``num_classes=0``)."""

    model: Any

    def __init__(self, model: nn.Module, input_spec: InputSpec, pool: Pool, arch: str) -> None:
        info = list(getattr(model, "feature_info", None) or [])
        positions = pyramid_strides(info)
        if positions is None:
            raise SpecError(f"{arch}: timm's feature_info has no single level at each of strides "
                            f"{', '.join(map(str, STRIDES))} (found "
                            f"{[f['reduction'] for f in info]}); it cannot feed the dense heads")
        if not hasattr(model, "forward_intermediates"):
            raise SpecError(f"{arch}: this timm model has no forward_intermediates, so rsbench "
                            "cannot take its levels")
        super().__init__(model, input_spec, pool, arch)
        self.timm_indices = positions  # feature_info positions = forward_intermediates indices
        self.level_channels = [int(info[i]["num_chs"]) for i in positions]
        self.last_module = str(info[positions[-1]]["module"])

    @property
    def embed_dim(self) -> int:
        """Width of the pooled features (timm's ``head_hidden_size``: ``num_features`` unless the
        model has a pre-logits layer, as MobileNetV3's ``conv_head``)."""
        return int(getattr(self.model, "head_hidden_size", None) or self.model.num_features)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, D]``: timm's pre-logits features, the global average of the last stage."""
        return self.model.forward_head(self.forward_features(x), pre_logits=True)

    def level_maps(self, x: torch.Tensor, levels: list[int]) -> list[torch.Tensor]:
        wanted = sorted(set(levels))
        maps = self.model.forward_intermediates(
            x, indices=[self.timm_indices[i] for i in wanted], output_fmt="NCHW",
            intermediates_only=True)
        by_level = dict(zip(wanted, maps, strict=True))
        return [by_level[i] for i in levels]

    def drop_after_levels(self) -> None:
        """Children of the model after the one holding the last level (``layer4``, ``stages``,
        ``layers``) become ``Identity``, the truncation timm's ``features_only`` makes."""
        top = self.last_module.split(".")[0]
        names = [name for name, _ in self.model.named_children()]
        for name in names[names.index(top) + 1:]:
            setattr(self.model, name, nn.Identity())


def level_channels(backbone: Backbone) -> list[int] | None:
    """The widths of a feature pyramid's four levels; None for a ViT (one width at one stride,
    which the heads' ViT necks take to strides 4-32)."""
    return list(backbone.level_channels) if isinstance(backbone, PyramidBackbone) else None
