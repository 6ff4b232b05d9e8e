"""Frozen-encoder detection: only the simple feature pyramid and the detector are trained.

The encoder has ``requires_grad`` off and stays in eval mode (no drop path, no gradient); the
pyramid and the Faster R-CNN (or RetinaNet / FCOS) heads are trained with the fine-tune
protocol's 1x schedule (AdamW lr 1e-4, weight decay 0.05, 12 epochs, lr x0.1 at epochs 8 and 11,
batch 16, 800 px) so that the two protocols differ only in what is trained.
"""

from __future__ import annotations

from rsbench.protocols.base import ProtocolContext, ProtocolResult
from rsbench.protocols.detection import DetectionProtocol
from rsbench.protocols.recipes import recipe

RECIPE = ("frozen encoder, detector-only training; ViTDet simple feature pyramid from the last ViT "
          "map (Li et al., ECCV 2022) + {model}; schedule of the ViTDet/RVSA detection "
          "fine-tune (Wang et al. 2022): AdamW lr {lr}, wd {weight_decay}, {total_steps} steps "
          "({epochs} epochs at 1x, lr x{lr_gamma} at epochs {lr_steps}), warm-up {warmup_iters} "
          "iters, batch {batch_size} (global), {image_size} px; COCO eval with difficult ignored")
DEFAULTS = recipe("detection", "frozen")  # tasks/detection/_protocols/frozen.yaml


def run(ctx: ProtocolContext) -> ProtocolResult:
    """Train pyramid + detector on a frozen encoder, score COCO AP on test."""
    return DetectionProtocol(DEFAULTS, RECIPE, frozen=True).run(ctx)
