"""torchgeo's Swin Transformer v2 (``swin_v2_b``, ``swin_v2_t``) with the SatlasPretrain weights.

torchgeo's builders are torchvision's ``swin_v2_b`` / ``swin_v2_t``; with weights they swap the
patch-embedding conv for a 4x4 stride-4 ``Conv2d`` of the release's ``in_chans`` and load the
file (a plain state dict in torchvision's own keys, no prefix: the file the weights URL names)
with ``strict=False`` but assert that no key is missing or unexpected. rsbench builds the same
module with ``weights=None`` (nothing downloads), makes the same conv swap at the card's band
count and drops the classifier, so the file's ``head`` (torchvision's 1000-class default, which
SatlasPretrain never trains) is the one key it may hold that the module has not.

The module is a feature pyramid (``rsbench.zoo.pyramid.ZooSwinPyramid``); pooled features are
torchvision's forward without the head: final norm, NHWC -> NCHW, global average, flatten.
Layer-wise lr decay groups the parameters as timm groups its own Swin-v2 (``swin_layer``).

Input units. torchgeo's transforms for every Satlas release are ``CenterCrop(256)`` and one
``Normalize`` with mean 0 (Landsat: 4000) and a constant std: a plain rescale of the release's
input, which is:

- NAIP RGB (``NAIP_RGB_*``): 8-bit aerial RGB divided by 255: rsbench's 8-bit RGB data
  (sensor ``rgb``, raw 255), so mean 0 and std 1 on its [0, 1] values; nothing to clip;
- Sentinel-2 (``SENTINEL2_*``): the RGB channels are ESA's 8-bit TCI product divided by 255.
  TCI is ESA's rendering of L1C reflectance (saturated, quantised, 0 kept for no-data) with no
  published formula and no constants in torchgeo, so it is no rescale of the reflectance
  rsbench's Sentinel-2 data holds; these releases are refused from metadata (a card gives
  ``input_spec``). The multispectral releases' other six bands (L1C digital numbers / 8160,
  clipped to [0, 1] by Satlas) would be one, but they come after the TCI channels;
- Landsat (``(v - 4000) / 16320``) and Sentinel-1 (8-bit /255) take units no rsbench
  dataset has.
"""

from __future__ import annotations

from typing import Any

from rsbench.zoo.entry import ZooEntry, resolve

#: An ordinal ending so joins the group before it (timm's ``MATCH_PREV_GROUP``).
MATCH_PREV_GROUP = 99999


def headless_swin(builder: str, in_chans: int = 3, **kwargs: Any) -> Any:
    """torchgeo's Swin ``builder`` with no weights, the patch-embedding conv torchgeo puts in for
    ``in_chans`` bands, and no classifier head."""
    from torch import nn

    model = resolve(builder)(weights=None, **kwargs)
    conv = model.features[0][0]
    # torchgeo.models.swin: the conv it loads the release into (kernel 4x4, stride 4)
    model.features[0][0] = nn.Conv2d(in_chans, conv.out_channels, kernel_size=conv.kernel_size,
                                     stride=conv.stride)
    model.head = nn.Identity()
    # layer-wise lr decay (timm's param_groups_layer_decay) asks the module for its grouping
    model.group_matcher = swin_group_matcher
    return model


def swin_layer(name: str) -> tuple[int, ...]:
    """The ordinal of a torchvision Swin parameter in timm's fine Swin grouping: the patch
    embedding first, then each block in order, a stage's patch merging with its first block
    (timm's ``layers.k.downsample`` heads stage k), the final norm in the last block's layer."""
    parts = name.split(".")
    if parts[0] != "features":
        return (2, MATCH_PREV_GROUP)  # the final norm joins the last block, as in timm
    position = int(parts[1])
    if position == 0:
        return (0,)
    if position % 2 == 0:  # PatchMergingV2 before the stage at position + 1
        return (1, position + 1, 0)
    return (1, position, int(parts[2]))


def swin_group_matcher(coarse: bool = False) -> Any:
    """timm's ``group_matcher`` interface for torchvision's Swin: a name -> ordinal callable."""
    return swin_layer


def swin_forward(model: Any, x: Any, backbone: Any) -> Any:
    """torchvision's ``SwinTransformer.forward`` less its head, ``[B, C]``."""
    return model.flatten(model.avgpool(model.permute(model.norm(model.features(x)))))


#: NAIP's 8-bit RGB divided by 255 (torchgeo's Normalize(0, 255)): rsbench's 8-bit RGB.
SENSORS = {"NAIP_RGB": ("rgb", 255.0)}
HEAD = frozenset({"head.weight", "head.bias"})
NOTE = ("levels at strides 4-32 (UperNet, detectors); Sentinel-2 releases take ESA's TCI "
        "rendering, no rescale of reflectance: their cards give input_spec")


def satlas_swin(name: str, weights: str, default: str, sensors: dict[str, tuple[str, float]],
                ) -> ZooEntry:
    """The entry of torchgeo's Swin v2 builder ``name`` and its Satlas ``weights`` enum."""
    return ZooEntry(
        name=name, constructor="rsbench.zoo.swin:headless_swin",
        weights=f"torchgeo.models:{weights}", default_weights=default, sensors=sensors,
        pooled=swin_forward, kwargs={"builder": f"torchgeo.models:{name}", "in_chans": 3},
        ignored=HEAD, pools={"avg": {}}, pyramid="torchvision_swin", note=NOTE)


ENTRIES = {
    "swin_v2_b": satlas_swin("swin_v2_b", "Swin_V2_B_Weights", "NAIP_RGB_SI_SATLAS", SENSORS),
    "swin_v2_t": satlas_swin("swin_v2_t", "Swin_V2_T_Weights", "SENTINEL2_SI_RGB_SATLAS", {}),
}
