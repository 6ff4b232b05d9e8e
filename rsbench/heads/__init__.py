"""Task heads that sit on a Backbone."""

from rsbench.heads.detection import (
    DetectionModel,
    SimpleFeaturePyramid,
    ViTDetBackbone,
    build_detector,
)
from rsbench.heads.linear import finetune_head, probe_head
from rsbench.heads.upernet import (
    LinearSegHead,
    SegmentationModel,
    UperHead,
    ViTPyramid,
    segmentation_head,
)

__all__ = ["DetectionModel", "LinearSegHead", "SegmentationModel", "SimpleFeaturePyramid",
           "UperHead", "ViTDetBackbone", "ViTPyramid", "build_detector", "finetune_head",
           "probe_head", "segmentation_head"]
