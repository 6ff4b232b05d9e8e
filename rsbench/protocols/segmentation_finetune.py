"""End-to-end segmentation fine-tuning: RVSA's UperNet recipe for plain ViTs.

RVSA (Wang et al., "Advancing plain vision transformer towards remote sensing foundation
model", 2022) with mmseg: UperNet on blocks at 1/4..4/4 of depth resampled to strides 4/8/16/32,
AdamW lr 6e-5, weight decay 0.05, layer-wise lr decay 0.9 (MAE's layer ids), drop path 0.1,
linear warm-up 1500 iterations then poly (power 1), 160k iterations, batch 8, 512 crops (896 for
iSAID), sliding-window test. The decoder has lr scale 1 (the layer after the last block).
"""

from __future__ import annotations

from rsbench.protocols.base import ProtocolContext, ProtocolResult
from rsbench.protocols.recipes import recipe
from rsbench.protocols.segmentation import SegmentationProtocol

RECIPE = ("RVSA (Wang et al. 2022) mmseg UperNet fine-tune: AdamW lr {lr}, wd {weight_decay}, layer "
          "decay {layer_decay}, drop path {drop_path}, warm-up {warmup_iters} iters then poly, "
          "{iterations} iters, batch {batch_size} (global), {crop_size} crops, sliding-window test")
DEFAULTS = recipe("segmentation", "finetune")  # tasks/segmentation/_protocols/finetune.yaml


def run(ctx: ProtocolContext) -> ProtocolResult:
    """Fine-tune encoder + decoder end to end, score on test with sliding windows."""
    return SegmentationProtocol(DEFAULTS, RECIPE, frozen=False).run(ctx)
