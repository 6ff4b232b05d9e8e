"""CROMA (Fuller et al. 2023), torchgeo's ``croma_base`` / ``croma_large``, optical-only use.

torchgeo builds CROMA for the modalities asked for and loads the released file — a dict of one
state dict per part (``s1_encoder``, ``s1_GAP_FFN``, ``s2_encoder``, ``s2_GAP_FFN``,
``joint_encoder``) — part by part (``torchgeo.models.croma.load_weights``). rsbench reads the
same file flattened (``s2_encoder.linear_input.weight``...), which are the module's own keys.
Built with ``modalities=['optical']``, the radar encoder and the joint encoder in the file are
ignored; the ALiBi attention bias is computed at construction (it is in no file). Features are
torchgeo's ``optical_GAP``: the mean of the optical encodings through the GAP FFN.

The optical encoder takes 12 Sentinel-2 L1C bands (no cirrus B10), in SSL4EO-S12's order; its
transforms in torchgeo are the identity, so the spec has mean 0 and std 1 (reflectance as it
is; CROMA's own fine-tuning code standardises each dataset: ``normalisation: dataset``).
Patches are 8 px: the task's image size must be a multiple of 8.
"""

from __future__ import annotations

from typing import Any

from rsbench.zoo.entry import ZooEntry

CROMA_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11",
               "B12")
RADAR = frozenset({"s1_encoder", "s1_GAP_FFN", "joint_encoder"})


def croma_optical(model: Any, x: Any, backbone: Any) -> Any:
    """torchgeo's CROMA forward on optical input: its ``optical_GAP``."""
    return model(x_optical=x)["optical_GAP"]


def croma(name: str, weights: str) -> ZooEntry:
    """The entry of torchgeo's ``name`` builder, optical encoder only."""
    return ZooEntry(
        name=name, constructor=f"torchgeo.models:{name}", weights=f"torchgeo.models:{weights}",
        default_weights="CROMA_VIT", sensors={"CROMA_VIT": ("s2_l1c", 1.0)}, bands=CROMA_BANDS,
        pooled=croma_optical, kwargs={"modalities": ["optical"], "image_size": 120},
        defaults=frozenset({"attn_bias"}), ignored=RADAR, pools={"avg": {}},
        note="optical only; no statistics in torchgeo's weights: use normalisation: dataset")


ENTRIES = {
    "croma_base": croma("croma_base", "CROMABase_Weights"),
    "croma_large": croma("croma_large", "CROMALarge_Weights"),
}
