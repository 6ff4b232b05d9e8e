"""The Backbone contract: pooled features, tokens and multi-level feature maps of any encoder.

A ``Backbone`` wraps a timm model built without a classifier. It owns its ``InputSpec`` and
normalises [0, 1] inputs itself (through its ``input_map``), so no task can feed it the wrong
statistics.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from rsbench.backbones.input_spec import InputSpec
from rsbench.bands.normalise import InputMap, spec_input_map
from rsbench.errors import SpecError

Pool = Literal["cls", "avg"]


class Backbone(nn.Module):
    """An encoder with a declared pooling and input contract.

    Args:
        model: a timm model created with ``num_classes=0``.
        input_spec: bands, statistics and size the encoder expects.
        pool: ``"cls"`` (class token) or ``"avg"`` (mean of patch tokens), after the final norm.
        arch: registry name the model was built from, for reports.
    """

    input_map: InputMap
    model: Any  # a timm model: untyped, so its attributes are Any rather than Tensor | Module
    load_report: Any

    def __init__(self, model: nn.Module, input_spec: InputSpec, pool: Pool, arch: str) -> None:
        super().__init__()
        if pool not in ("cls", "avg"):
            raise SpecError(f"pool must be 'cls' or 'avg', got {pool!r}")
        self.model = model
        self.input_spec = input_spec
        self.pool = pool
        self.arch = arch
        self.load_report = None  # set by rsbench.checkpoints.load_backbone
        # Band selection, fill and the one normalisation; a run's InputPlan replaces it.
        self.input_map = spec_input_map(input_spec.bands, input_spec.mean, input_spec.std, arch)

    @property
    def embed_dim(self) -> int:
        """Width of pooled features and feature maps."""
        return int(getattr(self.model, "embed_dim", None) or self.model.num_features)

    @property
    def depth(self) -> int:
        """Number of transformer blocks (or stages for non-ViT timm models)."""
        blocks = getattr(self.model, "blocks", None) or getattr(self.model, "stages", None)
        return len(blocks) if blocks is not None else 1

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] data channels to the encoder's input (``rsbench.bands.normalise``)."""
        return self.input_map(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens after the final norm, ``[B, N, D]`` (prefix tokens first) for ViTs."""
        return self.model.forward_features(self.normalize(x))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """One vector per image, ``[B, D]``, pooled as declared."""
        tokens = self.forward_features(x)
        if tokens.ndim == 4:  # CNN-style timm model: NCHW or NHWC map
            return self.model.forward_head(tokens, pre_logits=True)
        prefix = getattr(self.model, "num_prefix_tokens", 0)
        if self.pool == "cls":
            if prefix == 0:
                raise SpecError(f"{self.arch} has no class token; use pool 'avg'")
            pooled = tokens[:, 0]
        else:
            pooled = tokens[:, prefix:].mean(dim=1)
        # An encoder normalised after pooling (MAE's global_pool: fc_norm, no final token norm)
        # keeps that order; for every other timm ViT fc_norm is an identity.
        fc_norm = getattr(self.model, "fc_norm", None)
        return fc_norm(pooled) if fc_norm is not None else pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pooled(x)

    def default_levels(self, n: int = 4) -> list[int]:
        """Block indices at 1/n, 2/n, ..., n/n of depth (ViTDet/RVSA convention)."""
        d = self.depth
        return [max(0, (d * (i + 1)) // n - 1) for i in range(n)]

    def feature_maps(self, x: torch.Tensor, levels: list[int] | None = None) -> list[torch.Tensor]:
        """Spatial maps ``[B, D, H/p, W/p]`` taken after the given blocks (0-based)."""
        levels = self.default_levels() if levels is None else levels
        return self.model.forward_intermediates(
            self.normalize(x), indices=levels, output_fmt="NCHW", intermediates_only=True
        )
