"""Sliding-window inference, as mmseg's ``slide_inference`` does it for RS segmentation.

Windows of the crop size move by ``stride``; the last window of each row and column is aligned to
the image edge, so every pixel is covered. Logits of overlapping windows are summed and divided by
how many windows saw each pixel. An image smaller than the window is zero-padded on the bottom and
right (0 is black in the [0, 1] input the backbone normalises itself) and the padding is cropped
off the result; mmseg pads after normalisation instead, a difference of padding value only.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from rsbench.config import SpecError


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start offsets along one axis: mmseg's grid, the last window flush with the edge."""
    if stride <= 0:
        raise SpecError(f"slide stride must be positive, got {stride}")
    n = max(length - window + stride - 1, 0) // stride + 1
    return sorted({max(min(i * stride + window, length) - window, 0) for i in range(n)})


def window_grid(h: int, w: int, window: tuple[int, int], stride: tuple[int, int]) -> list[tuple[int, int]]:
    """Top-left corners ``(y, x)`` of every window over an ``h x w`` image, row by row."""
    return [(y, x) for y in window_starts(h, window[0], stride[0])
            for x in window_starts(w, window[1], stride[1])]


def sliding_logits(model_fn: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor,
                   window: int | tuple[int, int], stride: int | tuple[int, int],
                   num_classes: int, window_batch: int | None = None) -> torch.Tensor:
    """Logits ``[B, K, H, W]`` for ``image [B, C, H, W]`` from windows of size ``window``.

    Up to ``window_batch`` windows of every image go through ``model_fn`` in one call: the
    same numbers as one call per window (per-sample layers only; a model in eval mode). The
    default is 1 on the CPU, where batching measured no faster (0.82-1.05x of a plain loop,
    BENCHMARKS.md), and 8 on a GPU, to give each kernel launch more work.

    Args:
        model_fn: maps ``[N, C, wh, ww]`` crops to ``[N, K, wh, ww]`` logits.
        image: the batch, at native size.
        window: crop size (int or (h, w)); the training crop size.
        stride: step between windows (int or (h, w)), e.g. 2/3 of the window.
        num_classes: ``K``.
        window_batch: windows per ``model_fn`` call (times the batch size ``B``).
    """
    if window_batch is None:
        window_batch = 8 if image.is_cuda else 1
    (wh, ww), (sh, sw) = _pair(window), _pair(stride)
    b, _, h, w = image.shape
    pad_h, pad_w = max(wh - h, 0), max(ww - w, 0)
    if pad_h or pad_w:
        image = F.pad(image, (0, pad_w, 0, pad_h))
    hp, wp = image.shape[-2:]
    logits = image.new_zeros((b, num_classes, hp, wp), dtype=torch.float32)
    counts = image.new_zeros((1, 1, hp, wp), dtype=torch.float32)
    grid = window_grid(hp, wp, (wh, ww), (sh, sw))
    for start in range(0, len(grid), max(1, window_batch)):
        corners = grid[start:start + max(1, window_batch)]
        crops = torch.cat([image[:, :, y:y + wh, x:x + ww] for y, x in corners])
        out = model_fn(crops).float().view(len(corners), b, num_classes, wh, ww)
        for (y, x), part in zip(corners, out, strict=True):
            logits[:, :, y:y + wh, x:x + ww] += part
            counts[:, :, y:y + wh, x:x + ww] += 1
    return (logits / counts)[:, :, :h, :w]
