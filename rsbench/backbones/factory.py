"""Build a ``Backbone`` from an arch name plus overrides, dispatched by arch family.

An arch family owns a set of arch names and knows how to build them. Families live in
``FAMILIES`` (a ``rsbench.registry.Registry``), keyed by family name:

- a *prefixed* family owns every name ``<family>:<rest>``: ``timm:`` (any timm model: ViTs as
  token encoders, CNNs and hierarchical transformers as feature pyramids,
  ``rsbench.backbones.pyramid``);
- an unprefixed family owns the plain names it lists: ``vit`` (``VIT_ARCHS``);
- ``zoo:`` (torchgeo's models, ``rsbench.zoo.family``) is registered the way any other family is.

To add a family, write an object with the ``ArchFamily`` methods and register it, lazily so
that listing names imports nothing heavy::

    FAMILIES.register("zoo", "rsbench.zoo.family:FAMILY")   # below the built-in families

A family whose encoders are hierarchical wraps them as a ``backbones.pyramid.PyramidBackbone``
(four levels at strides 4-32 with their widths); the dense heads then take the levels as they are.

``build_backbone``, ``build_model`` (the raw model on any device, ``meta`` for counting),
``check_arch`` and ``known_archs`` then take its names with no other change.
"""

from __future__ import annotations

import difflib
from typing import Any, Protocol

import torch

from rsbench.backbones.base import Backbone, Pool
from rsbench.backbones.input_spec import InputSpec
from rsbench.backbones.vit import VIT_ARCHS
from rsbench.errors import SpecError
from rsbench.registry import Registry

TIMM_PREFIX = "timm:"


class ArchFamily(Protocol):
    """What ``FAMILIES`` holds: one family of architectures and how to build them."""

    prefixed: bool  # True: owns every "<family name>:<rest>"; False: owns names()

    def names(self) -> list[str]:
        """The arch names the family lists (``known_archs``); may be empty for a prefix family."""

    def check(self, arch: str) -> None:
        """Raise a one-line ``SpecError`` if ``arch`` (one of this family's) cannot be built."""

    def build_model(self, arch: str, input_spec: InputSpec, pool: Pool,
                    device: str | torch.device | None, **overrides: Any) -> torch.nn.Module:
        """The raw model (the module the checkpoint's tensors fill), on ``device``."""

    def wrap(self, model: torch.nn.Module, input_spec: InputSpec, pool: Pool, arch: str) -> Backbone:
        """``model`` behind the ``Backbone`` contract."""


FAMILIES = Registry("arch family")


def family_of(arch: str) -> ArchFamily:
    """The family that owns ``arch``; a one-line ``SpecError`` with suggestions when none does."""
    prefix, sep, _ = arch.partition(":")
    if sep and prefix in FAMILIES and FAMILIES.get(prefix).prefixed:
        return FAMILIES.get(prefix)
    if not sep:  # a plain name: the unprefixed family that lists it
        for name in FAMILIES:
            family = FAMILIES.get(name)
            if not family.prefixed and arch in family.names():
                return family
    listed = known_archs()
    close = difflib.get_close_matches(arch, listed, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    prefixes = [f"{n}:<name>" for n in FAMILIES if FAMILIES.get(n).prefixed]
    raise SpecError(f"unknown arch {arch!r}{hint} (known: {', '.join(listed + prefixes)})")


def known_archs() -> list[str]:
    """Names every family lists (prefix families such as ``timm:<any model>`` list few or none)."""
    return [arch for name in FAMILIES for arch in FAMILIES.get(name).names()]


def check_arch(arch: str) -> None:
    """Raise a one-line error with suggestions if ``arch`` is not buildable."""
    family_of(arch).check(arch)


def timm_keywords(overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` in timm's keywords: rsbench's JSON-plain ``layer_norm_eps`` (records keep
    overrides as JSON) becomes ``norm_layer``, a LayerNorm with that epsilon."""
    out = dict(overrides)
    if "layer_norm_eps" in out:
        from functools import partial

        from timm.layers import LayerNorm

        out["norm_layer"] = partial(LayerNorm, eps=float(out.pop("layer_norm_eps")))
    return out


class ViTFamily:
    """The registered ViT sizes (``VIT_ARCHS``) as timm ``VisionTransformer``s."""

    prefixed = False

    def names(self) -> list[str]:
        return list(VIT_ARCHS)

    def check(self, arch: str) -> None:
        if arch not in VIT_ARCHS:
            raise SpecError(f"unknown ViT arch {arch!r} (known: {', '.join(VIT_ARCHS)})")

    def build_model(self, arch: str, input_spec: InputSpec, pool: Pool,
                    device: str | torch.device | None, **overrides: Any) -> torch.nn.Module:
        from timm.models.vision_transformer import VisionTransformer

        kwargs = {
            **VIT_ARCHS[arch].timm_kwargs(),
            "num_classes": 0,
            "in_chans": input_spec.in_chans,
            "img_size": input_spec.img_size,
            "global_pool": "token" if pool == "cls" else "avg",
            # Keep the pretrained final norm on every token and pool after it, as MAE's encoder
            # does; a fresh fc_norm would leave a randomly initialised layer in a frozen probe.
            "fc_norm": False,
            "dynamic_img_size": True,
            **timm_keywords(overrides),
        }
        with torch.device(device or "cpu"):
            return VisionTransformer(**kwargs)

    def wrap(self, model: torch.nn.Module, input_spec: InputSpec, pool: Pool, arch: str) -> Backbone:
        return Backbone(model, input_spec, pool, arch)


class TimmFamily:
    """``timm:<name>``: any timm model, headless, at the input spec's band count (and size for
    ViTs); hierarchical models are wrapped as feature pyramids (``backbones.pyramid``)."""

    prefixed = True

    def names(self) -> list[str]:
        return []

    def check(self, arch: str) -> None:
        import timm

        if not timm.is_model(arch[len(TIMM_PREFIX):]):
            raise SpecError(f"arch {arch!r} names no timm model (write timm:<model name>, a "
                            "name timm.list_models() gives)")

    def build_model(self, arch: str, input_spec: InputSpec, pool: Pool,
                    device: str | torch.device | None, **overrides: Any) -> torch.nn.Module:
        import timm

        name = arch[len(TIMM_PREFIX):]
        kwargs = {"num_classes": 0, "in_chans": input_spec.in_chans, **timm_keywords(overrides)}
        if "vit" in name or "deit" in name:
            kwargs.setdefault("img_size", input_spec.img_size)
            kwargs.setdefault("dynamic_img_size", True)
        cfg = timm.get_pretrained_cfg(name)
        if cfg is not None and cfg.fixed_input_size:  # timm's own rule for passing img_size (Swin)
            kwargs.setdefault("img_size", input_spec.img_size)
        with torch.device(device or "cpu"):
            return timm.create_model(name, pretrained=False, **kwargs)

    def wrap(self, model: torch.nn.Module, input_spec: InputSpec, pool: Pool, arch: str) -> Backbone:
        from rsbench.backbones.pyramid import TimmPyramid, is_pyramid

        if is_pyramid(model):  # one level at each of strides 4-32: a CNN or a Swin
            return TimmPyramid(model, input_spec, pool, arch)
        return Backbone(model, input_spec, pool, arch)


FAMILIES.register("vit", ViTFamily())
FAMILIES.register("timm", TimmFamily())
FAMILIES.register("zoo", "rsbench.zoo.family:FAMILY")  # torchgeo's models (rsbench.zoo)
# Families defined elsewhere register here as lazy "module:attr" strings (imported on first use).


def build_model(
    arch: str, input_spec: InputSpec, pool: Pool, device: str | torch.device | None = None,
    **overrides: Any,
) -> torch.nn.Module:
    """The raw model ``arch``'s family builds (the module a checkpoint fills), headless.

    ``overrides`` are the family's keywords (timm's for ``vit`` and ``timm:``), plus
    ``layer_norm_eps`` (see ``timm_keywords``).
    """
    family = family_of(arch)
    family.check(arch)
    return family.build_model(arch, input_spec, pool, device, **overrides)


# The name callers have used since every arch was a timm model.
build_timm_model = build_model


def build_backbone(
    arch: str,
    input_spec: InputSpec | None = None,
    pool: Pool = "cls",
    device: str | torch.device | None = None,
    **overrides: Any,
) -> Backbone:
    """A randomly initialised ``Backbone``; ``rsbench.load_backbone`` fills it from a checkpoint.

    Args:
        arch: a name from ``known_archs()`` or ``<prefix>:<name>`` of a prefixed family
            (``timm:<model>``).
        input_spec: bands, statistics and size; ImageNet RGB at 224 px when omitted.
        pool: ``"cls"`` or ``"avg"``.
        device: where to allocate; ``"meta"`` costs no memory (for counting parameters).
        **overrides: the family's keyword overrides, e.g. ``depth=2`` or ``drop_path_rate=0.1``.
    """
    input_spec = input_spec or InputSpec()
    model = build_model(arch, input_spec, pool, device=device, **overrides)
    return family_of(arch).wrap(model, input_spec, pool, arch)


def param_count(arch: str, img_size: int = 224, **overrides: Any) -> int:
    """Exact parameter count, measured on the meta device so that 15B models cost nothing."""
    model = build_model(arch, InputSpec(img_size=img_size), "cls", device="meta", **overrides)
    return sum(p.numel() for p in model.parameters())
