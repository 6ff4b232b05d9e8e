"""Frozen-encoder segmentation: only the decoder is trained (PANGAEA's default protocol).

The encoder has ``requires_grad`` off and stays in eval mode (no dropout / drop path, no
gradient); the UperNet (or linear) decoder is trained with the same schedule as the fine-tune
protocol (AdamW lr 6e-5, weight decay 0.05, 1500 warm-up iterations, poly, 160k iterations,
batch 8, 512 crops) so that the two protocols differ only in what is trained. That schedule is
RVSA's; PANGAEA's own optimiser numbers are not copied here.
"""

from __future__ import annotations

from rsbench.protocols.base import ProtocolContext, ProtocolResult
from rsbench.protocols.recipes import recipe
from rsbench.protocols.segmentation import SegmentationProtocol

RECIPE = ("frozen encoder, decoder-only training as PANGAEA's default; UperNet (mmseg UPerHead) on "
          "ViT blocks at 1/4..4/4 depth resampled to strides 4/8/16/32 (ViTDet/RVSA); schedule of "
          "RVSA (Wang et al. 2022): AdamW lr {lr}, wd {weight_decay}, warm-up {warmup_iters} iters "
          "then poly, {iterations} iters, batch {batch_size} (global), {crop_size} crops, "
          "sliding-window test")
DEFAULTS = recipe("segmentation", "frozen")  # tasks/segmentation/_protocols/frozen.yaml


def run(ctx: ProtocolContext) -> ProtocolResult:
    """Train the decoder on a frozen encoder, score on test with sliding windows."""
    return SegmentationProtocol(DEFAULTS, RECIPE, frozen=True).run(ctx)
