"""EuroSAT (Helber et al., IEEE JSTARS 2019): the RGB subset and all 13 Sentinel-2 bands.

27,000 Sentinel-2 L1C patches, 10 classes, 64 x 64 px, 10 m, 13-band uint16 GeoTIFF. On disk
(as torchgeo 0.8 downloads it; the authors' ``EuroSATallBands.zip`` has the same nesting)::

    <root>/ds/images/remote_sensing/otherDatasets/sentinel_2/tif/<Class>/<Class>_N.tif
    <root>/eurosat-{train,val,test}.txt            torchgeo's 60/20/20 split ("torchgeo")
    <root>/eurosat-spatial-{train,val,test}.txt    torchgeo's longitude split ("spatial")

RGB is bands B04, B03, B02 (file bands 4, 3, 2, in torchgeo's band order B01..B12, B8A).
Scaling: raw L1C digital numbers (reflectance x 10,000) are divided by 3,000 and clipped to
[0, 1], exactly as ``torchgeo.datasets.EuroSAT.plot`` renders RGB; it keeps the dark land
surfaces in range where the reflectance scale (/10,000) would squash them into [0, 0.3].

``dataset.variant: all-bands`` is the same files with every band (torchgeo's ``bands=all``), named as Sentinel-2
L1C bands and scaled to top-of-atmosphere reflectance (DN / 10,000, the L1C quantification
value), clipped to [0, 1]: DN above 10,000 (saturated cloud, snow) are the only values changed.
Models meet it through ``rsbench.bands`` (an RGB card is fed B04, B03, B02).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import torch

from rsbench.config import SpecError
from rsbench.data.decode import RasterReader
from rsbench.data.torchgeo_base import TorchGeoAdapter

_HF = "https://hf.co/datasets/torchgeo/eurosat/resolve/1ce6f1bfb56db63fd91b6ecc466ea67f2509774c/"
_SPLITS = ("train", "val", "test")
#: Sentinel-2 band order inside each file (torchgeo's ``EuroSAT.all_band_names``).
ALL_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10", "B11", "B12",
             "B8A")
RGB_BANDS = {"R": "B04", "G": "B03", "B": "B02"}
_SPLIT_FILES = {"torchgeo": {s: f"eurosat-{s}.txt" for s in _SPLITS},
                   "spatial": {s: f"eurosat-spatial-{s}.txt" for s in _SPLITS}}


class EuroSATAdapter(TorchGeoAdapter):
    """EuroSAT RGB through ``torchgeo.datasets.EuroSAT`` (download, official splits)."""

    name = "eurosat"
    title = "EuroSAT (Sentinel-2, RGB bands)"
    homepage = "https://github.com/phelber/EuroSAT"
    classes = (
        "AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture",
        "PermanentCrop", "Residential", "River", "SeaLake",
    )
    image_dirs = ("ds/images/remote_sensing/otherDatasets/sentinel_2/tif",)
    extensions = (".tif", ".tiff")
    layout = ("ds/images/remote_sensing/otherDatasets/sentinel_2/tif/<Class>/<Class>_N.tif "
              "(13-band uint16 GeoTIFF; + eurosat-{train,val,test}.txt for the official split)")
    all_band_names: ClassVar[tuple[str, ...]] = ALL_BANDS
    rgb_bands: ClassVar[dict[str, str]] = RGB_BANDS
    #: Raw value mapped to 1.0 (torchgeo's EuroSAT.plot convention), then clipped.
    rgb_scale: ClassVar[float] = 3000.0
    #: Raw value of 1.0 in what the reader returns (recorded with the band match).
    value_scale: ClassVar[float] = 3000.0
    #: Task band name -> 0-based band position in the file.
    band_channels: ClassVar[dict[str, int]] = {k: ALL_BANDS.index(v) for k, v in RGB_BANDS.items()}
    official_splits = ("torchgeo", "spatial")

    torchgeo_class = "torchgeo.datasets:EuroSAT"
    split_classes: ClassVar[dict[str, str]] = {"spatial": "torchgeo.datasets:EuroSATSpatial"}
    url = _HF + "EuroSATallBands.zip"
    md5 = "5ac12b3b2557aa56e1826e981e8e200e"
    split_filenames: ClassVar[dict[str, dict[str, str]]] = _SPLIT_FILES
    split_urls: ClassVar[dict[str, dict[str, str]]] = {
        name: {s: _HF + f for s, f in files.items()} for name, files in _SPLIT_FILES.items()
    }
    split_md5s: ClassVar[dict[str, dict[str, str]]] = {
        "torchgeo": {"train": "908f142e73d6acdf3f482c5e80d851b1",
                     "val": "95de90f2aa998f70a3b2416bfe0687b4",
                     "test": "7ae5ab94471417b6e315763121e67c5f"},
        "spatial": {"train": "7be3254be39f23ce4d4d144290c93292",
                    "val": "acf392290050bb3df790dc8fc0ebf193",
                    "test": "5ec1733f9c16116bf0aa2d921fc613ef"},
    }

    def with_variant(self, name: str | None) -> EuroSATAdapter:
        """The RGB subset (None, ``rgb``) or every band (``all-bands``).

        Raises:
            SpecError: another variant name.
        """
        if name in VARIANTS:
            return VARIANTS[name]()
        raise SpecError(f"dataset.variant {name!r}: EuroSAT has "
                        f"{', '.join(str(v) for v in VARIANTS if v)}")

    def listed_names(self, root: Path, name: str, split: str) -> list[str]:
        """The split file's names with ``.jpg`` read as ``.tif``, as torchgeo's EuroSAT does."""
        return [n.replace(".jpg", ".tif") for n in super().listed_names(root, name, split)]

    def reader(self, bands: tuple[str, ...]) -> Callable[[Path], torch.Tensor]:
        """Reads the requested RGB bands (1-based file indexes) and scales by ``rgb_scale``."""
        indexes = tuple(i + 1 for i in self.channel_indices(bands))
        return RasterReader(indexes, self.rgb_scale)


class EuroSAT13Adapter(EuroSATAdapter):
    """EuroSAT with all 13 Sentinel-2 L1C bands, as reflectance (variant ``all-bands``)."""

    title = "EuroSAT (Sentinel-2 L1C, 13 bands)"
    sensor: ClassVar[str] = "s2_l1c"
    #: L1C digital number of reflectance 1.0 (ESA's quantification value).
    value_scale: ClassVar[float] = 10000.0
    band_channels: ClassVar[dict[str, int]] = {b: i for i, b in enumerate(ALL_BANDS)}

    def reader(self, bands: tuple[str, ...]) -> Callable[[Path], torch.Tensor]:
        """Reads the requested bands (1-based file indexes) as reflectance in [0, 1]."""
        indexes = tuple(i + 1 for i in self.channel_indices(bands))
        return RasterReader(indexes, self.value_scale)


VARIANTS: dict[str | None, type[EuroSATAdapter]] = {
    None: EuroSATAdapter, "rgb": EuroSATAdapter, "all-bands": EuroSAT13Adapter}
