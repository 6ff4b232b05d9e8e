"""Copernicus-FM (Wang et al. 2025), torchgeo's ``copernicusfm_base``, in its spectral mode.

Its patch embedding is generated from each band's centre wavelength and bandwidth (nm), so,
like DOFA, it runs on the data bands its card's bands match, each with its own figures
(``rsbench.zoo.backbone``); missing bands are left out. The metadata input (longitude,
latitude, time, patch area) is given as unknown (NaN), which selects the model's learned
"unknown" tokens, as torchgeo's example does: rsbench's datasets carry no per-image location
or date. torchgeo's released file lacks only ``fc_norm`` (its loader allows it), which keeps
LayerNorm's constructor values; features are the mean of the patch tokens through it.

torchgeo's transforms are the identity: mean 0 and std 1 (reflectance as it is).
"""

from __future__ import annotations

from typing import Any

from rsbench.zoo.dofa import S2_BANDS
from rsbench.zoo.entry import ZooEntry


def copernicus_spectral(model: Any, x: Any, backbone: Any) -> Any:
    """torchgeo's Copernicus-FM forward, spectral mode, metadata unknown."""
    import torch

    metadata = torch.full((x.shape[0], 4), float("nan"), device=x.device)
    return model(x, metadata, wavelengths=backbone.centres_nm(),
                 bandwidths=backbone.bandwidths_nm(), input_mode="spectral")


ENTRIES = {
    "copernicusfm_base": ZooEntry(
        name="copernicusfm_base", constructor="torchgeo.models:copernicusfm_base",
        weights="torchgeo.models:CopernicusFM_Base_Weights", default_weights="CopernicusFM_ViT",
        sensors={"CopernicusFM_ViT": ("s2_l1c", 1.0)}, bands=S2_BANDS, pooled=copernicus_spectral,
        kwargs={"num_classes": 0, "img_size": 224}, conditioning="wavelength",
        defaults=frozenset({"fc_norm.weight", "fc_norm.bias"}), pools={"avg": {"global_pool": True}},
        note="spectral mode, metadata unknown; no statistics in torchgeo's weights"),
}
