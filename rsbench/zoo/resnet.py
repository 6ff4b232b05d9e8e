"""torchgeo's pretrained ResNet-50s (SSL4EO-S12 MoCo, DINO, DeCUR, SoftCon; SeCo; GASSL fMoW),
pooled features only: timm's ``resnet50`` with no classifier, global average pooled.

torchgeo builds them with ``timm.create_model('resnet50', in_chans=...)`` and loads the file with
``strict=False``, allowing ``fc`` to be missing or extra: the same rule here. Feature maps for
dense tasks are left to rsbench's timm pyramids (``timm:resnet50``).
"""

from __future__ import annotations

from rsbench.zoo.entry import ZooEntry
from rsbench.zoo.ssl4eo import timm_forward

#: Members whose bands and value scale rsbench reads (the Satlas releases feed 8-bit images of
#: a clipped reflectance range, which no value scale of rsbench's [0, 1] data expresses).
SENSORS = {"SENTINEL2_ALL": "s2_l1c", "SENTINEL2_RGB": "s2_l1c", "SENTINEL1": "s1",
           "LANDSAT_OLI_TIRS_TOA": "landsat8", "FMOW_RGB": "rgb"}

ENTRIES = {
    "resnet50": ZooEntry(
        name="resnet50", constructor="torchgeo.models:resnet50",
        weights="torchgeo.models:ResNet50_Weights", default_weights="SENTINEL2_ALL_MOCO",
        sensors=SENSORS, bands=("R", "G", "B"), pooled=timm_forward,
        kwargs={"num_classes": 0, "in_chans": 3}, ignored=frozenset({"fc.weight", "fc.bias"}),
        pools={"avg": {}}, note="pooled features only (classification, multi-label)"),
}
