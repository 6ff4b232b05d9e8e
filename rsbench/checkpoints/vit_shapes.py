"""What a checkpoint's tensor shapes say about the ViT that produced them.

Width, depth, patch size, band count and MLP width are facts of the weights: the patch-embedding
kernel is ``[width, bands, patch, patch]``, blocks are numbered, ``mlp.fc1`` (SwiGLU:
``mlp.fc1_g``) has one row per hidden unit. The number of attention heads is not: ``qkv`` is
``[3 * width, width]`` whatever the split, so heads come from metadata or a stated assumption
(``rsbench.checkpoints.infer``). Hugging Face names are read through ``hf.timm_name``, so both
conventions are measured on timm's keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rsbench.checkpoints import hf
from rsbench.checkpoints.formats import strip_wrappers
from rsbench.checkpoints.safe_load import CheckpointError
from rsbench.checkpoints.sources import Source

PATCH = "patch_embed.proj.weight"
ASK = "pass --arch NAME (in a model card, arch: NAME)"  # the way out of every refusal
Shapes = dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class VitDims:
    """A ViT encoder as its tensors describe it (timm's keyword names where there is one)."""

    embed_dim: int
    depth: int
    patch_size: int
    in_chans: int
    mlp_dim: int
    mlp: str  # "gelu" (fc1/fc2) or "swiglu" (fc1_g/fc1_x/fc2)
    qkv_bias: bool
    class_token: bool
    reg_tokens: int
    no_embed_class: bool
    grid: int  # patches per side of the position embedding
    layer_scale: bool
    qk_norm: bool
    pre_norm: bool
    fc_norm: bool  # a pooled-feature norm instead of the final token norm (MAE global_pool)

    @property
    def img_size(self) -> int:
        """The image size the position embedding was trained at."""
        return self.grid * self.patch_size

    def summary(self) -> str:
        """``"width 768, depth 12, patch 16, mlp 3072"``."""
        mlp = f"mlp {self.mlp_dim}" + (" (SwiGLU)" if self.mlp == "swiglu" else "")
        return f"width {self.embed_dim}, depth {self.depth}, patch {self.patch_size}, {mlp}"


def hf_shapes(shapes: Shapes, prefix: str) -> Shapes:
    """Hugging Face ViT shapes under ``prefix`` renamed to timm (q, k, v stacked into qkv)."""
    out: Shapes = {}
    for key, shape in shapes.items():
        name = hf.timm_name(key[len(prefix):]) if key.startswith(prefix) else None
        if name is None:
            continue
        if name[1] is None:
            out[name[0]] = shape
        else:  # query, key and value each add their rows to the fused qkv
            rows = out.get(name[0], (0, *shape[1:]))[0]
            out[name[0]] = (rows + shape[0], *shape[1:])
    return out


def encoder_prefixes(keys: list[str]) -> list[str]:
    """Every prefix under which a timm patch embedding sits (``""``, ``"model."``...)."""
    cut = [k[: -len(PATCH)] for k in keys if k.endswith(PATCH)]
    return sorted({p for p in cut if p == "" or p.endswith(".")}, key=lambda p: (len(p), p))


def timm_shapes(source: Source) -> tuple[Shapes, str]:
    """The encoder's shapes under timm names, and the prefix they were found under.

    Several encoders (a DINO teacher and student, an EMA copy) are fine when their shapes
    agree; the shortest prefix is measured, as the loader picks it on equal matches.
    """
    shapes = {strip_wrappers(k): v for k, v in source.shapes.items()}
    prefix = hf.hf_prefix(list(shapes))
    if prefix is not None and not any(k.endswith(PATCH) for k in shapes):
        return hf_shapes(shapes, prefix), prefix
    found = {p: {k[len(p):]: v for k, v in shapes.items() if k.startswith(p)}
             for p in encoder_prefixes(list(shapes))}
    if not found:
        raise CheckpointError(
            f"{source.path}: --arch auto: no ViT patch embedding ({PATCH} or Hugging Face "
            f"{hf.SIGNATURE}) in the checkpoint, so it is not a ViT rsbench can infer; {ASK}")
    first = next(iter(found))
    differ = [p for p in found if measured(found[p], source) != measured(found[first], source)]
    if differ:
        raise CheckpointError(
            f"{source.path}: --arch auto: encoders of different shapes under prefixes "
            f"{first!r} and {differ[0]!r}; {ASK}")
    return found[first], first


def block_indices(shapes: Shapes) -> list[int]:
    """The numbers of ``blocks.N.`` keys, sorted."""
    return sorted({int(k.split(".")[1]) for k in shapes
                   if k.startswith("blocks.") and k.split(".")[1].isdigit()})


def measured(shapes: Shapes, source: Source) -> VitDims:
    """The dimensions of the timm-named encoder ``shapes``; refuses what is not a plain ViT."""
    def refuse(why: str) -> CheckpointError:
        return CheckpointError(f"{source.path}: --arch auto: {why}; {ASK}")

    kernel = shapes[PATCH]
    if len(kernel) != 4 or kernel[2] != kernel[3]:
        raise refuse(f"{PATCH} has shape {list(kernel)}, not a square [width, bands, p, p] kernel")
    width, in_chans, patch = kernel[0], kernel[1], kernel[2]
    depth = len(blocks := block_indices(shapes))
    if blocks != list(range(depth)) or depth == 0:
        raise refuse(f"transformer blocks numbered {blocks[:8]}, not 0..N-1")
    if "blocks.0.mlp.fc1_g.weight" in shapes:
        mlp, hidden = "swiglu", shapes["blocks.0.mlp.fc1_g.weight"][0]
    elif "blocks.0.mlp.fc1.weight" in shapes:
        mlp, hidden = "gelu", shapes["blocks.0.mlp.fc1.weight"][0]
    else:
        raise refuse("block 0 has no MLP (mlp.fc1 or mlp.fc1_g)")
    if shapes.get("blocks.0.attn.qkv.weight") != (3 * width, width):
        raise refuse(f"block 0 has no fused attention qkv of shape [{3 * width}, {width}]")
    reg = shapes.get("reg_token", (1, 0))[1]
    prefix = int("cls_token" in shapes) + reg
    if "pos_embed" not in shapes:
        raise refuse("no absolute position embedding (pos_embed)")
    tokens = shapes["pos_embed"][1]
    grid, embedded = square_side(tokens - prefix), True
    if grid is None and prefix:
        grid, embedded = square_side(tokens), False  # timm's no_embed_class
    if grid is None:
        raise refuse(f"pos_embed has {tokens} tokens, no square grid after {prefix} prefix tokens")
    return VitDims(
        embed_dim=width, depth=depth, patch_size=patch, in_chans=in_chans, mlp_dim=hidden,
        mlp=mlp, qkv_bias="blocks.0.attn.qkv.bias" in shapes, class_token="cls_token" in shapes,
        reg_tokens=reg, no_embed_class=not embedded, grid=grid,
        layer_scale="blocks.0.ls1.gamma" in shapes, qk_norm="blocks.0.attn.q_norm.weight" in shapes,
        pre_norm="norm_pre.weight" in shapes,
        fc_norm="fc_norm.weight" in shapes and "norm.weight" not in shapes,
    )


def square_side(n: int) -> int | None:
    """``s`` when ``n == s * s`` (s > 0), else None."""
    side = math.isqrt(max(n, 0))
    return side if side > 0 and side * side == n else None


def vit_dims(source: Source) -> VitDims:
    """The dimensions of the ViT encoder in ``source``, or a one-line ``CheckpointError``."""
    shapes, _ = timm_shapes(source)
    return measured(shapes, source)
