"""Panopticon (Waldmann et al. 2025), torchgeo's ``panopticon_vitb14``: a DINOv2 ViT-B/14 whose
patch embedding attends over channels identified by their centre wavelength (nm).

Like DOFA it runs on the data bands its card's bands match, each given its own centre
(``chn_ids``); missing bands are left out. The released file is the inner timm ViT's state dict
(the module's keys less ``model.``) with a ``mask_token`` torchgeo drops and a position
embedding for 518 px that torchgeo resizes to the image size (bicubic, antialiased: what
rsbench's resampling, timm's ``resample_abs_pos_embed``, computes). Features are the timm
ViT's forward with no classifier: the class token after the final norm.

torchgeo's transforms are the identity: mean 0 and std 1 (reflectance as it is).
"""

from __future__ import annotations

from typing import Any

from rsbench.zoo.dofa import S2_BANDS
from rsbench.zoo.entry import ZooEntry


def panopticon_forward(model: Any, x: Any, backbone: Any) -> Any:
    """torchgeo's Panopticon forward: images and each channel's wavelength (nm)."""
    import torch

    ids = torch.tensor(backbone.centres_nm(), dtype=x.dtype, device=x.device)
    return model({"imgs": x, "chn_ids": ids.expand(x.shape[0], -1)})


ENTRIES = {
    "panopticon_vitb14": ZooEntry(
        name="panopticon_vitb14", constructor="torchgeo.models:panopticon_vitb14",
        weights="torchgeo.models:Panopticon_Weights", default_weights="VIT_BASE14",
        sensors={"VIT_BASE14": ("s2_l1c", 1.0)}, bands=S2_BANDS, pooled=panopticon_forward,
        kwargs={"img_size": 224}, conditioning="wavelength", file_prefix="model.",
        ignored=frozenset({"model.mask_token"}), pools={"cls": {}},
        note="channels by wavelength; no statistics in torchgeo's weights"),
}
