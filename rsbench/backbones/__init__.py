"""Encoders: the ViT family at published sizes and any timm model, behind one contract.

Names are resolved on first use, so that reading a task spec or a model card (which only needs
``InputSpec``) does not import torch: a re-run that every record already answers stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rsbench.backbones.input_spec import InputSpec

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone
    from rsbench.backbones.factory import build_backbone, check_arch, known_archs, param_count
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

_HOME = {"Backbone": "base", "build_backbone": "factory", "check_arch": "factory",
         "known_archs": "factory", "param_count": "factory", "VIT_ARCHS": "vit", "ViTArch": "vit"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"rsbench.backbones.{_HOME[name]}"), name)
    raise AttributeError(f"module 'rsbench.backbones' has no attribute {name!r}")
