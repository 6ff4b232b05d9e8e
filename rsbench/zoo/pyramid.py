"""Zoo models that are feature pyramids: four NCHW levels at strides 4/8/16/32 for the dense heads.

A hierarchical zoo module is a ``PyramidBackbone`` as well as a ``ZooBackbone``: pooled features
stay torchgeo's own forward (the entry's ``pooled``), and ``feature_maps`` gives the levels
UperNet and the detectors take (``rsbench.backbones.pyramid.level_channels``):

- ``timm``: a timm CNN (torchgeo's ``resnet50``), its levels those of timm's ``features_only``
  model at strides 4-32, as ``TimmPyramid`` takes them from the full headless model;
- ``torchvision_swin``: torchvision's ``SwinTransformer`` (torchgeo's ``swin_v2_b`` and
  ``swin_v2_t``): the outputs of the four stages of its ``features`` sequence (the block
  stacks, not the patch mergings between them), NHWC turned NCHW, as SatlasPretrain's own
  backbone takes them; no norm is applied to them (torchvision's final ``norm`` serves the
  pooled features only).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rsbench.backbones.base import Backbone, Pool
from rsbench.backbones.input_spec import InputSpec
from rsbench.backbones.pyramid import STRIDES, PyramidBackbone, TimmPyramid
from rsbench.errors import SpecError
from rsbench.zoo.backbone import ZooBackbone
from rsbench.zoo.entry import ZooEntry


class ZooPyramid(ZooBackbone, PyramidBackbone):
    """A zoo model with four levels; subclasses say how the module gives them."""

    def feature_maps(self, x: torch.Tensor, levels: list[int] | None = None) -> list[torch.Tensor]:
        """Maps ``[B, C_i, H/s_i, W/s_i]`` at the given levels (0-3: strides 4-32), NCHW."""
        self.prepared()
        return PyramidBackbone.feature_maps(self, x, levels)


class ZooTimmPyramid(ZooPyramid, TimmPyramid):
    """A timm CNN from torchgeo's builder, with ``TimmPyramid``'s levels."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """timm's last-stage map of the normalised input, ``[B, C, H/32, W/32]``."""
        return Backbone.forward_features(self, x)


def swin_stages(model: nn.Module) -> list[int]:
    """Positions in torchvision Swin's ``features`` of the four stages' block stacks: every
    child after the patch embedding that is no patch merging (``[1, 3, 5, 7]``)."""
    from torchvision.models.swin_transformer import PatchMerging, PatchMergingV2

    children = list(model.features)  # type: ignore[arg-type]  # torchvision's nn.Sequential
    stages = [i for i, m in enumerate(children)
              if i > 0 and not isinstance(m, PatchMerging | PatchMergingV2)]
    if len(stages) != len(STRIDES):
        raise SpecError(f"torchvision Swin with {len(stages)} stages; a feature pyramid needs "
                        f"{len(STRIDES)} (strides {', '.join(map(str, STRIDES))})")
    return stages


class ZooSwinPyramid(ZooPyramid):
    """torchvision's ``SwinTransformer`` (v1 or v2) as torchgeo builds it, headless."""

    model: Any

    def __init__(self, model: nn.Module, input_spec: InputSpec, pool: Pool, arch: str,
                 entry: ZooEntry, overrides: dict[str, Any] | None = None) -> None:
        super().__init__(model, input_spec, pool, arch, entry, overrides)
        self.stage_positions = swin_stages(model)
        # each stage's width: the normalised shape of its last block's first norm
        features: Any = model.features  # torchvision's nn.Sequential of stages
        self.level_channels = [int(features[i][-1].norm1.normalized_shape[0])
                               for i in self.stage_positions]

    @property
    def embed_dim(self) -> int:
        """Width of the pooled features: the last stage's (torchvision's ``norm``)."""
        return self.level_channels[-1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage after torchvision's final norm, NCHW ``[B, C, H/32, W/32]``."""
        return self.model.permute(self.model.norm(self.model.features(self.normalize(x))))

    def level_maps(self, x: torch.Tensor, levels: list[int]) -> list[torch.Tensor]:
        wanted = {self.stage_positions[i]: i for i in levels}
        found: dict[int, torch.Tensor] = {}
        for position, child in enumerate(self.model.features):
            x = child(x)
            if position in wanted:
                found[wanted[position]] = x.permute(0, 3, 1, 2)  # NHWC -> NCHW
            if len(found) == len(wanted):
                break  # the later stages feed no requested level
        return [found[i] for i in levels]

    def drop_after_levels(self) -> None:
        """torchvision's final norm, permute, pooling, flatten and head become ``Identity``."""
        for name in ("norm", "permute", "avgpool", "flatten", "head"):
            setattr(self.model, name, nn.Identity())


#: The backbone class of each ``ZooEntry.pyramid`` kind.
PYRAMIDS: dict[str, type[ZooBackbone]] = {"timm": ZooTimmPyramid,
                                          "torchvision_swin": ZooSwinPyramid}


def zoo_backbone_class(entry: ZooEntry) -> type[ZooBackbone]:
    """The class wrapping ``entry``'s module: a pyramid kind's, else ``ZooBackbone``."""
    return PYRAMIDS[entry.pyramid] if entry.pyramid else ZooBackbone
