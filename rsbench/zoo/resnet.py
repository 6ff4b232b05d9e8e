"""torchgeo's pretrained ResNet-50s (SSL4EO-S12 MoCo, DINO, DeCUR, SoftCon; SeCo; GASSL fMoW):
timm's ``resnet50`` with no classifier, global average pooled, and a feature pyramid.

torchgeo builds them with ``timm.create_model('resnet50', in_chans=...)`` and loads the file with
``strict=False``, allowing ``fc`` to be missing or extra: the same rule here. The dense heads
take the same module's four levels (``layer1``-``layer4``, strides 4-32: timm's
``features_only`` maps), as ``timm:resnet50`` gives them (``rsbench.zoo.pyramid``).
"""

from __future__ import annotations

from rsbench.zoo.entry import ZooEntry
from rsbench.zoo.ssl4eo import timm_forward

#: Members whose input units rsbench's data has (``ssl4eo.SENSORS``): SSL4EO-S12's digital
#: numbers, fMoW's 8-bit RGB. The Satlas Sentinel-2 releases take ESA's 8-bit TCI rendering
#: (no rescale of reflectance: ``rsbench.zoo.swin``), SeCo's RGB 8-bit images of a clipped
#: reflectance range, others Sentinel-1 dB or SSL4EO-L's 8-bit Landsat: their cards give
#: input_spec.
SENSORS = {"SENTINEL2_ALL": ("s2_l1c", 10000.0), "SENTINEL2_RGB_MOCO": ("s2_l1c", 10000.0),
           "FMOW_RGB": ("rgb", 255.0)}

ENTRIES = {
    "resnet50": ZooEntry(
        name="resnet50", constructor="torchgeo.models:resnet50",
        weights="torchgeo.models:ResNet50_Weights", default_weights="SENTINEL2_ALL_MOCO",
        sensors=SENSORS, bands=("R", "G", "B"), pooled=timm_forward,
        kwargs={"num_classes": 0, "in_chans": 3}, ignored=frozenset({"fc.weight", "fc.bias"}),
        pools={"avg": {}}, pyramid="timm",
        note="pooled features and levels at strides 4-32 (UperNet, detectors)"),
}
