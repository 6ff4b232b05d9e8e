"""Registered ViT names for inferred dimensions, and for the model names checkpoints carry.

A checkpoint's dimensions map to the registered arch (``rsbench.backbones.vit.VIT_ARCHS``) they
equal, or to the nearest one plus the timm overrides that make up the difference, so records
name ``vit_tiny_patch16`` with ``depth=2`` rather than an anonymous model. Model names in
metadata (MAE's ``mae_vit_large_patch16``, timm's ``vit_base_patch16_224``) map by their size word.
"""

from __future__ import annotations

import re
from typing import Any

from rsbench.backbones.vit import VIT_ARCHS, ViTArch
from rsbench.checkpoints.vit_shapes import VitDims

NAME = re.compile(r"(?:^|[_:/.])vit_([a-z0-9]+)_patch(\d+)")


def named_arch(text: str) -> str | None:
    """The registered arch a model name refers to, by its size word, or None.

    ``mae_vit_base_patch16`` and ``vit_base_patch16_224`` give ``vit_base_patch16``; the patch
    size in the name does not matter (the tensors say it).
    """
    match = NAME.search(text.lower())
    if match is None:
        return None
    swiglu = "swiglu" in text.lower()
    for name, arch in VIT_ARCHS.items():
        if name.startswith(f"vit_{match.group(1)}_patch") and (arch.mlp == "swiglu") == swiglu:
            return name
    return None


def dim_fields(dims: VitDims, heads: int) -> dict[str, Any]:
    """The timm dimension keywords of the checkpoint's model."""
    return {"embed_dim": dims.embed_dim, "depth": dims.depth, "num_heads": heads,
            "mlp_ratio": dims.mlp_dim / dims.embed_dim, "patch_size": dims.patch_size}


def arch_fields(arch: ViTArch) -> dict[str, Any]:
    """The same keywords for a registered arch."""
    return {"embed_dim": arch.embed_dim, "depth": arch.depth, "num_heads": arch.num_heads,
            "mlp_ratio": arch.mlp_dim / arch.embed_dim, "patch_size": arch.patch_size}


def registered_overrides(dims: VitDims, heads: int) -> tuple[str, dict[str, Any]]:
    """The registered arch nearest to ``dims`` (fewest differing keywords, then same width,
    then registry order) and the overrides for the keywords that differ.

    Only archs with the same MLP kind qualify: SwiGLU is a module, not a JSON override.
    """
    want = dim_fields(dims, heads)

    def differing(name: str) -> dict[str, Any]:
        have = arch_fields(VIT_ARCHS[name])
        return {k: v for k, v in want.items() if have[k] != v}

    names = [n for n, a in VIT_ARCHS.items() if a.mlp == dims.mlp]
    best = min(names, key=lambda n: (len(differing(n)),
                                     VIT_ARCHS[n].embed_dim != dims.embed_dim, names.index(n)))
    return best, differing(best)
