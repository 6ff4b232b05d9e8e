"""Fit pretrained tensors to a target of another image size, patch size or band count.

Pure functions over tensors and target shapes, each the standard remedy timm applies when it
loads pretrained weights: bicubic resampling of absolute position embeddings (prefix tokens kept
as they are), FlexiViT's pseudo-inverse resize of patch-embedding kernels, and channel repetition
for the first convolution. Every change is returned as ``key -> "old -> new"`` for the report, so
a resampled model never passes for an exact one.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from timm.layers import resample_abs_pos_embed, resample_patch_embed
from timm.models import adapt_input_conv

from rsbench.errors import SpecError

POS_EMBED = "pos_embed"
PATCH_WEIGHT = "patch_embed.proj.weight"


def shape_text(old: tuple[int, ...], new: tuple[int, ...]) -> str:
    """``"[1, 197, 768] -> [1, 17, 768]"``."""
    return f"{list(old)} -> {list(new)}"


def square_grid(tokens: int) -> tuple[int, int] | None:
    """``(n, n)`` when ``tokens`` is a perfect square, else None."""
    side = math.isqrt(tokens)
    return (side, side) if side * side == tokens else None


def resampled_pos_embed(
    pos_embed: torch.Tensor, target_shape: tuple[int, ...], num_prefix_tokens: int,
    target_grid: tuple[int, int] | None = None,
) -> torch.Tensor | None:
    """``pos_embed`` resampled to the target's patch grid, or None if that is not possible.

    Args:
        pos_embed: ``[1, prefix + H*W, D]`` from the checkpoint (a square grid is assumed).
        target_shape: the target's ``pos_embed`` shape.
        num_prefix_tokens: leading tokens (class, registers) carrying position embeddings;
            they are copied, not interpolated.
        target_grid: the target grid when not square; inferred from ``target_shape`` otherwise.
    """
    if pos_embed.ndim != 3 or len(target_shape) != 3 or pos_embed.shape[-1] != target_shape[-1]:
        return None
    old_grid = square_grid(pos_embed.shape[1] - num_prefix_tokens)
    new_grid = target_grid or square_grid(target_shape[1] - num_prefix_tokens)
    if old_grid is None or new_grid is None:
        return None
    out = resample_abs_pos_embed(pos_embed.float(), new_size=list(new_grid), old_size=list(old_grid),
                                 num_prefix_tokens=num_prefix_tokens, verbose=False)
    return out.to(pos_embed.dtype)


def resampled_patch_weight(weight: torch.Tensor, target_shape: tuple[int, ...]) -> torch.Tensor | None:
    """A ``[D, C, p, p]`` patch kernel fitted to the target's channels and patch size, or None.

    Channels first (timm's ``adapt_input_conv``: repeat the pretrained bands cyclically and
    rescale so that activations keep their magnitude), then the kernel (``resample_patch_embed``,
    which preserves the patch embedding of a correspondingly resized image).
    """
    if weight.ndim != 4 or len(target_shape) != 4 or weight.shape[0] != target_shape[0]:
        return None
    out = weight
    if out.shape[1] != target_shape[1]:
        out = adapt_input_conv(target_shape[1], out.float(), base_chans=out.shape[1])
    if tuple(out.shape[-2:]) != tuple(target_shape[-2:]):
        out = resample_patch_embed(out.float(), new_size=list(target_shape[-2:]), verbose=False)
    return out.to(weight.dtype)


def fitted(
    key: str, value: torch.Tensor, target_shape: tuple[int, ...], num_prefix_tokens: int,
    target_grid: tuple[int, int] | None,
) -> torch.Tensor | None:
    """``value`` fitted to ``target_shape`` when ``key`` is one we know how to fit, else None."""
    if key == POS_EMBED:
        return resampled_pos_embed(value, target_shape, num_prefix_tokens, target_grid)
    if key == PATCH_WEIGHT:
        return resampled_patch_weight(value, target_shape)
    return None


def fit_to_target(
    state_dict: dict[str, torch.Tensor],
    target_shapes: dict[str, tuple[int, ...]],
    num_prefix_tokens: int = 1,
    target_grid: tuple[int, int] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, str], dict[str, str]]:
    """Make every tensor of ``state_dict`` the shape its target key expects.

    Args:
        state_dict: timm-named tensors whose keys the target has.
        target_shapes: the target's state-dict shapes.
        num_prefix_tokens: prefix tokens in the target's ``pos_embed`` (0 with ``no_embed_class``).
        target_grid: the target's patch grid, for non-square inputs.

    Returns:
        The loadable state dict, ``resampled`` (key -> "old -> new") and ``mismatched``
        (key -> "checkpoint vs target", left out because no known remedy applies).
    """
    out, resampled, mismatched = {}, {}, {}
    for key, value in state_dict.items():
        want = tuple(target_shapes[key])
        if tuple(value.shape) == want:
            out[key] = value
            continue
        new = fitted(key, value, want, num_prefix_tokens, target_grid)
        if new is not None and tuple(new.shape) == want:
            out[key] = new
            resampled[key] = shape_text(tuple(value.shape), want)
        else:
            mismatched[key] = shape_text(tuple(value.shape), want)
    return out, resampled, mismatched


def band_subset_weight(weight: torch.Tensor, keep: tuple[int, ...], method: str) -> torch.Tensor:
    """A ``[D, N, p, p]`` patch kernel reduced to the ``len(keep)`` bands a dataset has.

    Args:
        weight: the pretrained kernel over the model's N bands.
        keep: positions (in the model's band order) of the bands present, in that order.
        method: ``"slice"`` keeps the kernels of exactly those bands; ``"adapt"`` is timm's
            ``adapt_input_conv`` from N to ``len(keep)`` channels, which does not look at band
            identity: it repeats or truncates the pretrained channels from the first one on and
            rescales by ``N / len(keep)``.
    """
    if method == "slice":
        return weight[:, list(keep)].clone()
    if method == "adapt":
        return adapt_input_conv(len(keep), weight, base_chans=weight.shape[1])
    raise SpecError(f"band subset method must be 'slice' or 'adapt', got {method!r}")


def with_band_subset(model: torch.nn.Module, keep: tuple[int, ...], method: str) -> str:
    """Replace ``model.patch_embed.proj`` by a convolution over the bands in ``keep``.

    Returns:
        The change for the record, e.g. ``"slice: [192, 13, 16, 16] -> [192, 3, 16, 16]"``.

    Raises:
        CheckpointError: the model has no convolutional patch embedding to reduce.
    """
    from rsbench.checkpoints.safe_load import CheckpointError

    patch_embed: Any = getattr(model, "patch_embed", None)
    proj = getattr(patch_embed, "proj", None)
    if not isinstance(proj, torch.nn.Conv2d):
        raise CheckpointError(f"band_fill {method!r} needs a convolutional patch embedding "
                              f"(patch_embed.proj); {type(model).__name__} has none")
    new_weight = band_subset_weight(proj.weight.detach(), keep, method)
    kernel, stride = proj.kernel_size, proj.stride
    padding = proj.padding if isinstance(proj.padding, str) else (proj.padding[0], proj.padding[1])
    conv = torch.nn.Conv2d(len(keep), proj.out_channels, (kernel[0], kernel[1]),
                           (stride[0], stride[1]), padding, bias=proj.bias is not None,
                           device=proj.weight.device, dtype=proj.weight.dtype)
    with torch.no_grad():
        conv.weight.copy_(new_weight)
        if proj.bias is not None and conv.bias is not None:
            conv.bias.copy_(proj.bias)
    patch_embed.proj = conv
    return f"{method}: {shape_text(tuple(proj.weight.shape), tuple(conv.weight.shape))}"
