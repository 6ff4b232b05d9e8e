"""The plain-ViT family rsbench scores: timm's ``VisionTransformer`` at the published sizes.

Sizes follow the original ViT papers and, for Huge to 15B, the Frontier billion-scale study
(Tsaris et al., 2024; table in REFERENCE.md). All share MAE's encoder layout (qkv bias, class
token, GELU MLP, pre-norm blocks, final norm), so their state-dict keys are timm's and an
official MAE checkpoint loads into them without renaming.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ViTArch:
    """Dimensions of one ViT variant (keyword names follow timm)."""

    embed_dim: int
    depth: int
    mlp_dim: int
    num_heads: int
    patch_size: int
    paper_params_m: float | None = None
    source: str = ""
    mlp: str = "gelu"  # or "swiglu": timm's SwiGLU (gate and value projections, SiLU)

    def timm_kwargs(self) -> dict:
        """Keyword arguments for ``timm.models.vision_transformer.VisionTransformer``."""
        kwargs: dict[str, Any] = {
            "embed_dim": self.embed_dim,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_dim / self.embed_dim,
            "patch_size": self.patch_size,
        }
        if self.mlp == "swiglu":
            from timm.layers import SwiGLU
            from torch import nn

            kwargs.update({"mlp_layer": SwiGLU, "act_layer": nn.SiLU})
        return kwargs

    def param_count(self, img_size: int = 224, in_chans: int = 3) -> int:
        """Exact parameter count of the headless encoder, computed in closed form.

        Per block: two LayerNorms (4D), qkv (3D^2 + 3D), proj (D^2 + D), and the MLP: GELU
        fc1 (D*M + M) + fc2 (M*D + D), or SwiGLU's two input projections (2 (D*M + M)) + fc2.
        Plus patch embedding, class token, positional embedding, final norm.
        """
        d, m, p = self.embed_dim, self.mlp_dim, self.patch_size
        inputs = 2 if self.mlp == "swiglu" else 1
        block = 4 * d + 3 * d * d + 3 * d + d * d + d + inputs * (d * m + m) + m * d + d
        tokens = (img_size // p) ** 2 + 1
        return self.depth * block + in_chans * p * p * d + d + d + tokens * d + 2 * d


FRONTIER = "Tsaris et al. 2024, Frontier billion-scale ViT study"
VIT_ARCHS: dict[str, ViTArch] = {
    "vit_tiny_patch16": ViTArch(192, 12, 768, 3, 16, 5.7, "DeiT-Ti"),
    "vit_small_patch16": ViTArch(384, 12, 1536, 6, 16, 22.0, "DeiT-S"),
    "vit_base_patch16": ViTArch(768, 12, 3072, 12, 16, 87.0, FRONTIER),
    "vit_large_patch16": ViTArch(1024, 24, 4096, 16, 16, 304.0, "ViT-L (Dosovitskiy et al.)"),
    "vit_huge_patch14": ViTArch(1280, 32, 5120, 16, 14, 635.0, FRONTIER),
    "vit_1b_patch14": ViTArch(1536, 32, 6144, 16, 14, 914.0, FRONTIER),
    "vit_3b_patch14": ViTArch(2816, 32, 11264, 32, 14, 3067.0, FRONTIER),
    # The paper prints 5,349M for these ViT-e dimensions: a GELU-MLP ViT with them has 3,805M,
    # a SwiGLU one 5,347.7M. Both are offered; a checkpoint's MLP keys choose (variant_for_keys).
    "vit_5b_patch14": ViTArch(1792, 56, 15360, 16, 14, 5349.0, FRONTIER),
    "vit_5b_patch14_swiglu": ViTArch(1792, 56, 15360, 16, 14, 5349.0, FRONTIER, mlp="swiglu"),
    "vit_15b_patch14": ViTArch(5040, 48, 20160, 48, 14, 14720.0, FRONTIER),
}

# Architectures that exist with either MLP; the checkpoint's keys say which one it is.
MLP_SIBLINGS = {"vit_5b_patch14": "vit_5b_patch14_swiglu", "vit_5b_patch14_swiglu": "vit_5b_patch14"}


def variant_for_keys(arch: str, keys) -> str:
    """``arch``, or its sibling with the other MLP when the checkpoint's keys are the sibling's
    (SwiGLU: ``mlp.fc1_g``/``mlp.fc1_x``; GELU: ``mlp.fc1``)."""
    if arch not in MLP_SIBLINGS:
        return arch
    keys = list(keys)
    if any(".mlp.fc1_g." in k for k in keys):
        found = "swiglu"
    elif any(".mlp.fc1." in k for k in keys):
        found = "gelu"
    else:
        return arch
    return arch if VIT_ARCHS[arch].mlp == found else MLP_SIBLINGS[arch]
