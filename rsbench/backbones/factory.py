"""Build a ``Backbone`` from a registry name (or ``timm:<name>``) plus overrides."""

from __future__ import annotations

import difflib
from typing import Any

import torch

from rsbench.backbones.base import Backbone, Pool
from rsbench.backbones.input_spec import InputSpec
from rsbench.backbones.vit import VIT_ARCHS
from rsbench.errors import SpecError

TIMM_PREFIX = "timm:"


def known_archs() -> list[str]:
    """Names accepted by ``build_backbone`` besides ``timm:<any timm model>``."""
    return list(VIT_ARCHS)


def check_arch(arch: str) -> None:
    """Raise a one-line error with suggestions if ``arch`` is not buildable."""
    if arch.startswith(TIMM_PREFIX) or arch in VIT_ARCHS:
        return
    close = difflib.get_close_matches(arch, list(VIT_ARCHS), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise SpecError(
        f"unknown arch {arch!r}{hint} (known: {', '.join(VIT_ARCHS)}, or timm:<model name>)"
    )


def timm_keywords(overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` in timm's keywords: rsbench's JSON-plain ``layer_norm_eps`` (records keep
    overrides as JSON) becomes ``norm_layer``, a LayerNorm with that epsilon."""
    out = dict(overrides)
    if "layer_norm_eps" in out:
        from functools import partial

        from timm.layers import LayerNorm

        out["norm_layer"] = partial(LayerNorm, eps=float(out.pop("layer_norm_eps")))
    return out


def build_timm_model(
    arch: str, input_spec: InputSpec, pool: Pool, device: str | torch.device | None = None, **overrides: Any
) -> torch.nn.Module:
    """A headless timm model for ``arch`` at the input spec's size and band count.

    ``overrides`` are timm keywords, plus ``layer_norm_eps`` (see ``timm_keywords``).
    """
    import timm

    check_arch(arch)
    overrides = timm_keywords(overrides)
    common = {"num_classes": 0, "in_chans": input_spec.in_chans}
    if arch.startswith(TIMM_PREFIX):
        name = arch[len(TIMM_PREFIX):]
        kwargs = {**common, **overrides}
        if "vit" in name or "deit" in name:
            kwargs.setdefault("img_size", input_spec.img_size)
            kwargs.setdefault("dynamic_img_size", True)
        with torch.device(device or "cpu"):
            return timm.create_model(name, pretrained=False, **kwargs)
    from timm.models.vision_transformer import VisionTransformer

    kwargs = {
        **VIT_ARCHS[arch].timm_kwargs(),
        **common,
        "img_size": input_spec.img_size,
        "global_pool": "token" if pool == "cls" else "avg",
        # Keep the pretrained final norm on every token and pool after it, as MAE's encoder
        # does; a fresh fc_norm would leave a randomly initialised layer in a frozen probe.
        "fc_norm": False,
        "dynamic_img_size": True,
        **overrides,
    }
    with torch.device(device or "cpu"):
        return VisionTransformer(**kwargs)


def build_backbone(
    arch: str,
    input_spec: InputSpec | None = None,
    pool: Pool = "cls",
    device: str | torch.device | None = None,
    **overrides: Any,
) -> Backbone:
    """A randomly initialised ``Backbone``; ``rsbench.load_backbone`` fills it from a checkpoint.

    Args:
        arch: a name from ``known_archs()`` or ``timm:<model>``.
        input_spec: bands, statistics and size; ImageNet RGB at 224 px when omitted.
        pool: ``"cls"`` or ``"avg"``.
        device: where to allocate; ``"meta"`` costs no memory (for counting parameters).
        **overrides: timm keyword overrides, e.g. ``depth=2`` or ``drop_path_rate=0.1``.
    """
    input_spec = input_spec or InputSpec()
    model = build_timm_model(arch, input_spec, pool, device=device, **overrides)
    return Backbone(model, input_spec, pool, arch)


def param_count(arch: str, img_size: int = 224, **overrides: Any) -> int:
    """Exact parameter count, measured on the meta device so that 15B models cost nothing."""
    model = build_timm_model(arch, InputSpec(img_size=img_size), "cls", device="meta", **overrides)
    return sum(p.numel() for p in model.parameters())
