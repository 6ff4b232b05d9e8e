"""End-to-end detection fine-tuning: the ViTDet / RVSA recipe for plain ViTs.

ViTDet (Li et al., "Exploring plain vision transformer backbones for object detection", ECCV
2022) as RVSA (Wang et al. 2022) and MTP (Wang et al. 2024) run it on DIOR / DOTA: simple feature
pyramid from the last ViT map, Faster R-CNN, AdamW lr 1e-4, weight decay 0.05, layer-wise lr
decay 0.75 (MAE's layer ids), drop path 0.15, 800 x 800 input, "1x" schedule (12 epochs, lr x0.1
at epochs 8 and 11, mmdet's default linear warm-up over 500 iterations from 0.001 x lr), batch 16. Pyramid and detector heads have lr
scale 1 (the layer after the last block).
"""

from __future__ import annotations

from rsbench.protocols.base import ProtocolContext, ProtocolResult
from rsbench.protocols.detection import DetectionProtocol
from rsbench.protocols.recipes import recipe

RECIPE = ("ViTDet (Li et al. 2022) / RVSA (Wang et al. 2022) detection fine-tune: simple feature "
          "pyramid + {model}, AdamW lr {lr}, wd {weight_decay}, layer decay "
          "{layer_decay}, drop path {drop_path}, {image_size} px, {total_steps} steps ({epochs} "
          "epochs at 1x, lr x{lr_gamma} at epochs {lr_steps}), warm-up {warmup_iters} iters, batch "
          "{batch_size} (global); COCO eval with difficult ignored")
DEFAULTS = recipe("detection", "finetune")  # tasks/detection/_protocols/finetune.yaml


def run(ctx: ProtocolContext) -> ProtocolResult:
    """Fine-tune encoder + pyramid + detector end to end, score COCO AP on test."""
    return DetectionProtocol(DEFAULTS, RECIPE, frozen=False).run(ctx)
