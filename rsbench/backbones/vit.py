"""The plain-ViT family rsbench scores: timm's ``VisionTransformer`` at the published sizes.

Sizes follow the original ViT papers and, for Huge to 15B, the Frontier billion-scale study
(Tsaris et al., 2024; table in REFERENCE.md). All share MAE's encoder layout (qkv bias, class
token, GELU MLP, pre-norm blocks, final norm), so their state-dict keys are timm's and an
official MAE checkpoint loads into them without renaming.
"""

from __future__ import annotations

from dataclasses import dataclass


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

    def timm_kwargs(self) -> dict:
        """Keyword arguments for ``timm.models.vision_transformer.VisionTransformer``."""
        return {
            "embed_dim": self.embed_dim,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_dim / self.embed_dim,
            "patch_size": self.patch_size,
        }

    def param_count(self, img_size: int = 224, in_chans: int = 3) -> int:
        """Exact parameter count of the headless encoder, computed in closed form.

        Per block: two LayerNorms (4D), qkv (3D^2 + 3D), proj (D^2 + D), fc1 (D*M + M),
        fc2 (M*D + D). Plus patch embedding, class token, positional embedding, final norm.
        """
        d, m, p = self.embed_dim, self.mlp_dim, self.patch_size
        block = 4 * d + 3 * d * d + 3 * d + d * d + d + d * m + m + m * d + d
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
    # The paper prints 5,349M for these ViT-e dimensions; a standard ViT with them has ~3.8B.
    "vit_5b_patch14": ViTArch(1792, 56, 15360, 16, 14, 5349.0, FRONTIER),
    "vit_15b_patch14": ViTArch(5040, 48, 20160, 48, 14, 14720.0, FRONTIER),
}
