"""One zoo entry: a torchgeo model class, the weights it was released with, and how to run it.

Plain data and callables: building the module, reading its weights' metadata and running it
import torchgeo (and so torch) inside the functions, never here, so listing the zoo is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

#: How a model is told about the data beyond its pixels.
CONDITIONINGS = ("none", "wavelength", "gsd")
#: How a hierarchical model gives its levels (``rsbench.zoo.pyramid.PYRAMIDS``); "" for none.
PYRAMID_KINDS = ("", "timm", "torchvision_swin")


def resolve(ref: str) -> Any:
    """The object ``"package.module:attribute"`` names (``torchgeo.models:DOFA``)."""
    module, _, attribute = ref.partition(":")
    return getattr(import_module(module), attribute)


@dataclass(frozen=True)
class ZooEntry:
    """A torchgeo model rsbench can score, with the facts a run needs about it.

    Attributes:
        name: the arch after ``zoo:`` (a model card's ``arch: zoo:<name>``).
        constructor: ``"module:function"`` of torchgeo's builder, called with ``weights=None``
            (nothing is downloaded) and ``kwargs``.
        weights: ``"module:WeightsEnum"`` whose members carry the released files' URLs,
            bands and transforms; None when torchgeo releases no weights for it.
        default_weights: the member a card without ``weights:`` stands for.
        sensors: per weights member-name prefix, the rsbench sensor its bands are named in
            (``rsbench.bands.sensors``) and its raw scale: the value torchgeo's transforms
            take for rsbench's 1.0 (``SENTINEL2_ALL`` -> ``("s2_l1c", 10000)``: SSL4EO-S12's
            digital numbers; 1 where the transforms take the input as it is). Members no
            prefix covers are refused: their input units are not ones rsbench's data has.
        bands: band names when the weights' metadata names none (RGB models).
        kwargs: constructor keywords: no classifier head, the released input channels.
        conditioning: ``wavelength`` (each band's centre goes in; any subset of bands runs),
            ``gsd`` (the data's ground sampling distance goes in) or ``none``.
        defaults: keys (or module prefixes) torchgeo's own loader lets the released file
            lack; they keep the values the constructor gives them (LayerNorm's ones and zeros,
            CROMA's computed attention bias).
        ignored: keys (or module prefixes) a released file may hold that the encoder has no
            use for (a classifier head, CROMA's radar encoder in optical-only use).
        file_prefix: what the module's keys have in front of the released file's
            (Panopticon's file is its inner timm ViT's: ``model.``).
        pools: the card ``pool`` values the model offers, each with its constructor keywords.
        pooled: ``(model, x, backbone) -> [B, D]``: torchgeo's own forward to pooled features.
        prepare: ``(model, backbone) -> None`` run before every forward (sets what the
            module is conditioned on as an attribute, e.g. Scale-MAE's ``res``).
        maps: whether the module is a timm ViT whose ``forward_intermediates`` gives maps.
        pyramid: how a hierarchical module gives its four levels at strides 4-32
            (``rsbench.zoo.pyramid``): ``timm`` (a timm CNN's ``forward_intermediates``),
            ``torchvision_swin`` (the stage outputs of torchvision's ``SwinTransformer``), or
            empty for a token encoder.
        note: what a card should know (statistics torchgeo does not give...).
    """

    name: str
    constructor: str
    weights: str | None
    default_weights: str | None
    sensors: dict[str, tuple[str, float]]
    pooled: Callable[[Any, Any, Any], Any]
    bands: tuple[str, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    conditioning: str = "none"
    defaults: frozenset[str] = frozenset()
    ignored: frozenset[str] = frozenset()
    file_prefix: str = ""
    pools: dict[str, dict[str, Any]] = field(default_factory=lambda: {"cls": {}})
    prepare: Callable[[Any, Any], None] | None = None
    maps: bool = False
    pyramid: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(f"zoo entry {self.name}: conditioning {self.conditioning!r}")
        if self.pyramid not in PYRAMID_KINDS:
            raise ValueError(f"zoo entry {self.name}: pyramid {self.pyramid!r}")

    def build(self, pool: str, device: Any = None, **overrides: Any) -> Any:
        """torchgeo's module, randomly initialised on ``device`` (``"meta"``: no memory)."""
        import torch

        kwargs = {**self.kwargs, **self.pools[pool], **overrides}
        with torch.device(device or "cpu"):
            return resolve(self.constructor)(**kwargs)  # weights=None: nothing downloaded

    def weights_member(self, name: str | None) -> Any:
        """The torchgeo ``Weights`` of member ``name`` (the default when None), or None."""
        if self.weights is None:
            return None
        enum = resolve(self.weights)
        return enum[name or self.default_weights]

    def sensor_of(self, weights_name: str | None) -> tuple[str, float] | None:
        """``(sensor, raw scale)`` of a weights member (the longest matching prefix), or None."""
        name = weights_name or self.default_weights or ""
        found = [p for p in self.sensors if name.startswith(p)]
        return self.sensors[max(found, key=len)] if found else None

    def weights_names(self) -> list[str]:
        """The members of the weights enum (what a card's ``weights:`` may name)."""
        return [] if self.weights is None else [m.name for m in resolve(self.weights)]
