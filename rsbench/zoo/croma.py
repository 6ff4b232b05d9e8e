"""CROMA (Fuller et al. 2023), torchgeo's ``croma_base`` / ``croma_large``: optical, radar, joint.

torchgeo builds CROMA for the modalities asked for and loads the released file — a dict of one
state dict per part (``s1_encoder``, ``s1_GAP_FFN``, ``s2_encoder``, ``s2_GAP_FFN``,
``joint_encoder``) — part by part (``torchgeo.models.croma.load_weights``). rsbench reads the
same file flattened (``s2_encoder.linear_input.weight``...), which are the module's own keys;
the parts a mode's module lacks are ignored; the ALiBi attention bias is computed at
construction (it is in no file). One entry per mode, because the mode fixes the bands, the
constructor's ``modalities``, the parts read and the output together:

- ``croma_<size>``: 12 Sentinel-2 L1C bands (no cirrus B10) in SSL4EO-S12's order -> the
  optical encoder; features are torchgeo's ``optical_GAP``.
- ``croma_<size>_radar``: Sentinel-1 VV, VH -> the radar encoder; torchgeo's ``sar_GAP``.
- ``croma_<size>_joint``: ``s1:VV``, ``s1:VH`` then the 12 optical bands; torchgeo's
  ``joint_GAP`` (the radar encodings cross-attending to the optical ones, averaged).

The band plan matches each of the entry's bands to a data band by name, so the encoder input
holds the entry's bands in the entry's order whatever the data's order; the joint forward takes
its first two channels as ``x_sar`` and the rest as ``x_optical``.

torchgeo's transforms are the identity and its metadata gives no bands and no statistics, so the
spec has mean 0 and std 1: reflectance, and Sentinel-1 as rsbench's [0, 1] (-50..+10 dB), as
they are. CROMA's own code rescales each channel by its dataset's mean +- 2 std to [0, 1]: a
card should run with ``normalisation: dataset``. Patches are 8 px: the task's image size must
be a multiple of 8.
"""

from __future__ import annotations

from typing import Any

from rsbench.errors import SpecError
from rsbench.zoo.entry import ZooEntry

CROMA_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11",
               "B12")
#: The radar encoder's channels, in torchgeo's order (``x_sar``: VV then VH).
SAR_BANDS = ("s1:VV", "s1:VH")
#: Released parts each mode's module does not hold.
UNUSED = {"optical": frozenset({"s1_encoder", "s1_GAP_FFN", "joint_encoder"}),
          "sar": frozenset({"s2_encoder", "s2_GAP_FFN", "joint_encoder"}),
          "joint": frozenset()}


def croma_optical(model: Any, x: Any, backbone: Any) -> Any:
    """torchgeo's CROMA forward on optical input: its ``optical_GAP``."""
    return model(x_optical=x)["optical_GAP"]


def croma_radar(model: Any, x: Any, backbone: Any) -> Any:
    """torchgeo's CROMA forward on VV, VH: its ``sar_GAP``."""
    return model(x_sar=x)["sar_GAP"]


def croma_joint(model: Any, x: Any, backbone: Any) -> Any:
    """torchgeo's CROMA forward on both: ``joint_GAP`` of channels 0-1 (SAR) and 2-13."""
    n = len(SAR_BANDS)
    if x.shape[1] != n + len(CROMA_BANDS):
        raise SpecError(f"{backbone.arch} takes {n} SAR and {len(CROMA_BANDS)} optical channels; "
                        f"got {x.shape[1]} (CROMA's encoders take no band subset)")
    return model(x_sar=x[:, :n], x_optical=x[:, n:])["joint_GAP"]


#: mode -> (entry suffix, bands, their sensor, forward, torchgeo's ``modalities``, note).
MODES: dict[str, tuple[str, tuple[str, ...], str, Any, list[str], str]] = {
    "optical": ("", CROMA_BANDS, "s2_l1c", croma_optical, ["optical"], "optical only"),
    "sar": ("_radar", ("VV", "VH"), "s1", croma_radar, ["sar"], "radar only"),
    "joint": ("_joint", (*SAR_BANDS, *CROMA_BANDS), "s2_l1c", croma_joint, ["sar", "optical"],
              "radar + optical"),
}


def croma(name: str, weights: str, mode: str) -> ZooEntry:
    """The entry of torchgeo's ``name`` builder in ``mode`` (``MODES``)."""
    suffix, bands, sensor, pooled, modalities, what = MODES[mode]
    return ZooEntry(
        name=name + suffix, constructor=f"torchgeo.models:{name}",
        weights=f"torchgeo.models:{weights}", default_weights="CROMA_VIT",
        sensors={"CROMA_VIT": (sensor, 1.0)}, bands=bands, pooled=pooled,
        kwargs={"modalities": modalities, "image_size": 120}, defaults=frozenset({"attn_bias"}),
        ignored=UNUSED[mode], pools={"avg": {}},
        note=f"{what}; no statistics in torchgeo's weights: use normalisation: dataset")


ENTRIES = {entry.name: entry for size, weights in (("base", "CROMABase_Weights"),
                                                   ("large", "CROMALarge_Weights"))
           for entry in (croma(f"croma_{size}", weights, mode) for mode in MODES)}
