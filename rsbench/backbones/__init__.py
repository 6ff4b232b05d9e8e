"""Encoders: the ViT family at published sizes and any timm model, behind one contract."""

from rsbench.backbones.base import Backbone
from rsbench.backbones.factory import build_backbone, check_arch, known_archs, param_count
from rsbench.backbones.input_spec import InputSpec
from rsbench.backbones.vit import VIT_ARCHS, ViTArch

__all__ = [
    "VIT_ARCHS",
    "Backbone",
    "InputSpec",
    "ViTArch",
    "build_backbone",
    "check_arch",
    "known_archs",
    "param_count",
]
