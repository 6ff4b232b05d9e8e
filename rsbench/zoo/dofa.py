"""DOFA (Xiong et al. 2024), torchgeo's ``dofa_base_patch16_224`` / ``dofa_large_patch16_224``.

DOFA's patch embedding is generated from each band's centre wavelength (torchgeo's forward
takes them in micrometres), so it runs on any set of bands: a run feeds it the data bands its
card's bands match, each with its own centre wavelength (``rsbench.zoo.backbone``), and a band
the data lacks is left out rather than filled. torchgeo's released files hold every tensor but
``fc_norm`` ("generated dynamically", torchgeo's loader allows it to be missing), which keeps
LayerNorm's constructor values; features are torchgeo's ``global_pool``: the mean of the patch
tokens through that ``fc_norm``.

torchgeo's DOFA transforms hold no normalisation ("sensor-dependent"), so the input spec has
mean 0 and std 1: reflectance as it is; DOFA's own recipe standardises each dataset by its own
statistics (a task's ``normalisation: dataset``).
"""

from __future__ import annotations

from typing import Any

from rsbench.zoo.entry import ZooEntry

#: The bands a DOFA card matches data against: every Sentinel-2 L1C band (DOFA's pretraining
#: covers S2, NAIP, Gaofen and hyperspectral bands; any optical band with a centre runs).
S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11",
            "B12")


def dofa_forward(model: Any, x: Any, backbone: Any) -> Any:
    """torchgeo's DOFA forward with no classifier: ``model(x, wavelengths_um)``."""
    return model(x, backbone.wavelengths_um())


def dofa(name: str, weights: str) -> ZooEntry:
    """The entry of torchgeo's ``name`` builder and its ``weights`` enum."""
    return ZooEntry(
        name=name, constructor=f"torchgeo.models:{name}", weights=f"torchgeo.models:{weights}",
        default_weights="DOFA_MAE", sensors={"DOFA_MAE": ("s2_l1c", 1.0)}, bands=S2_BANDS,
        pooled=dofa_forward, kwargs={"num_classes": 0, "img_size": 224},
        conditioning="wavelength", defaults=frozenset({"fc_norm.weight", "fc_norm.bias"}),
        pools={"avg": {"global_pool": True}},
        note="no statistics in torchgeo's weights: use normalisation: dataset")


ENTRIES = {
    "dofa_base_patch16_224": dofa("dofa_base_patch16_224", "DOFABase16_Weights"),
    "dofa_large_patch16_224": dofa("dofa_large_patch16_224", "DOFALarge16_Weights"),
}
