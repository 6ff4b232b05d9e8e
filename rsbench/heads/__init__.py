"""Task heads that sit on a Backbone."""

from rsbench.heads.linear import finetune_head, probe_head
from rsbench.heads.upernet import (
    LinearSegHead,
    SegmentationModel,
    UperHead,
    ViTPyramid,
    segmentation_head,
)

__all__ = ["LinearSegHead", "SegmentationModel", "UperHead", "ViTPyramid", "finetune_head",
           "probe_head", "segmentation_head"]
