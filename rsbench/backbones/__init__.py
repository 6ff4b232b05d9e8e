"""Encoders behind one contract: the ViT family at published sizes, any timm model (CNNs and
hierarchical transformers as feature pyramids), and the arch families registered in
``factory.FAMILIES`` (the RS model zoo's ``zoo:`` names among them).

Names are resolved on first use, so that reading a task spec or a model card (which only needs
``InputSpec``) does not import torch: a re-run that every record already answers stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rsbench.backbones.input_spec import InputSpec

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone
    from rsbench.backbones.factory import (
        FAMILIES,
        build_backbone,
        check_arch,
        known_archs,
        param_count,
    )
    from rsbench.backbones.pyramid import PyramidBackbone, level_channels
    from rsbench.backbones.vit import VIT_ARCHS, ViTArch

__all__ = [
    "FAMILIES",
    "VIT_ARCHS",
    "Backbone",
    "InputSpec",
    "PyramidBackbone",
    "ViTArch",
    "build_backbone",
    "check_arch",
    "known_archs",
    "level_channels",
    "param_count",
]

_HOME = {"Backbone": "base", "build_backbone": "factory", "check_arch": "factory",
         "known_archs": "factory", "param_count": "factory", "FAMILIES": "factory",
         "PyramidBackbone": "pyramid", "level_channels": "pyramid", "VIT_ARCHS": "vit",
         "ViTArch": "vit"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"rsbench.backbones.{_HOME[name]}"), name)
    raise AttributeError(f"module 'rsbench.backbones' has no attribute {name!r}")
