"""Scale-MAE (Reed et al. 2023), torchgeo's ``scalemae_large_patch16``: a timm ViT-L whose
position embedding is computed from the image's ground sampling distance (``res``, metres).

A run hands it the GSD of the data bands it is fed (``rsbench.zoo.backbone``); data whose bands
publish none (an RGB camera of unknown resolution) need the card's ``arch_overrides.res``.
torchgeo loads the released file with ``strict=False`` and no check; here a file must hold the
encoder's every tensor (a classifier head is ignored). Features are the timm model's forward
with no classifier: the class token after the final norm (``pool: avg``: the patch tokens'
mean after it).
"""

from __future__ import annotations

from typing import Any

from rsbench.zoo.entry import ZooEntry
from rsbench.zoo.ssl4eo import HEAD, POOLS, timm_forward


def set_resolution(model: Any, backbone: Any) -> None:
    """Scale-MAE reads its GSD from the module's ``res`` attribute at every forward."""
    model.res = backbone.resolution_m()


ENTRIES = {
    "scalemae_large_patch16": ZooEntry(
        name="scalemae_large_patch16", constructor="torchgeo.models:scalemae_large_patch16",
        weights="torchgeo.models:ScaleMAELarge16_Weights", default_weights="FMOW_RGB",
        sensors={"FMOW_RGB": ("rgb", 255.0)}, bands=("R", "G", "B"), pooled=timm_forward,
        kwargs={"num_classes": 0, "in_chans": 3, "img_size": 224}, conditioning="gsd",
        ignored=HEAD, pools=POOLS, prepare=set_resolution, maps=True,
        note="GSD-aware: the data's GSD, else arch_overrides.res"),
}
