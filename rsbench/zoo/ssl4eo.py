"""torchgeo's pretrained timm ViTs: SSL4EO-S12 (MoCo, DINO, MAE, FG-MAE), SSL4EO-L, CLOSP.

torchgeo builds them with ``timm.create_model`` at the release's band count and loads the file
with ``strict=False``, allowing ``norm`` and ``head`` to be absent from it and ``head`` to be
extra (``torchgeo.models.vit.KEYS``): the same rule here. Pooled features are the timm model's
own forward with no classifier (``num_classes=0``): the class token after the final norm, as
torchgeo builds it; ``pool: avg`` averages the patch tokens after that norm instead.
"""

from __future__ import annotations

from typing import Any

from rsbench.zoo.entry import ZooEntry


def timm_forward(model: Any, x: Any, backbone: Any) -> Any:
    """The headless timm model's forward, ``[B, D]``, as torchgeo's module computes it."""
    return model(x)


#: torchgeo's weights members -> (rsbench sensor, raw scale): SSL4EO-S12's Sentinel-2 L1C
#: digital numbers (10000 is reflectance 1, rsbench's 1.0). The Sentinel-1 (dB) and Landsat
#: (SSL4EO-L's 8-bit) releases take units no rsbench dataset has; their cards give input_spec.
SENSORS = {"SENTINEL2_ALL": ("s2_l1c", 10000.0)}
NORM = frozenset({"norm.weight", "norm.bias"})  # torchgeo.models.vit.KEYS, less the head
HEAD = frozenset({"head.weight", "head.bias"})
POOLS: dict[str, dict[str, Any]] = {"cls": {"global_pool": "token"},
         # fc_norm=False keeps the released final norm on every token (timm would otherwise
         # swap it for a fresh fc_norm after pooling)
         "avg": {"global_pool": "avg", "fc_norm": False}}


def timm_vit(name: str, weights: str, default: str) -> ZooEntry:
    """The entry of torchgeo's ``name`` builder and its ``weights`` enum."""
    return ZooEntry(
        name=name, constructor=f"torchgeo.models:{name}", weights=f"torchgeo.models:{weights}",
        default_weights=default, sensors=SENSORS, pooled=timm_forward,
        kwargs={"num_classes": 0, "in_chans": 3, "img_size": 224},
        defaults=NORM, ignored=HEAD, pools=POOLS, maps=True,
        note="statistics and value scale from the weights' transforms")


ENTRIES = {
    "vit_small_patch16_224": timm_vit("vit_small_patch16_224", "ViTSmall16_Weights",
                                      "SENTINEL2_ALL_MOCO"),
    "vit_base_patch16_224": timm_vit("vit_base_patch16_224", "ViTBase16_Weights",
                                     "SENTINEL2_ALL_MAE"),
}
