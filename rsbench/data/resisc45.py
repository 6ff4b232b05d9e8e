"""NWPU-RESISC45 (Cheng, Han & Lu, Proc. IEEE 2017).

31,500 Google Earth RGB images, 45 classes x 700, 256 x 256 px, 0.2-30 m, JPEG. On disk (as
torchgeo 0.8 downloads it; the original archive extracts to the same class folders)::

    <root>/NWPU-RESISC45/<class>/<class>_NNN.jpg       NNN = 001..700
    <root>/resisc45-{train,val,test}.txt                torchgeo's 60/20/20 split
"""

from __future__ import annotations

from typing import ClassVar

from rsbench.data.torchgeo_base import TorchGeoAdapter

_HF = ("https://hf.co/datasets/isaaccorley/resisc45/resolve/"
       "883edc0eee77b2c84225472f10f126e3ed83fa6e/")


class RESISC45Adapter(TorchGeoAdapter):
    """NWPU-RESISC45 through ``torchgeo.datasets.RESISC45`` (download, official split)."""

    name = "resisc45"
    title = "NWPU-RESISC45"
    homepage = "https://doi.org/10.1109/jproc.2017.2675998"
    classes = (
        "airplane", "airport", "baseball_diamond", "basketball_court", "beach", "bridge",
        "chaparral", "church", "circular_farmland", "cloud", "commercial_area",
        "dense_residential", "desert", "forest", "freeway", "golf_course", "ground_track_field",
        "harbor", "industrial_area", "intersection", "island", "lake", "meadow",
        "medium_residential", "mobile_home_park", "mountain", "overpass", "palace", "parking_lot",
        "railway", "railway_station", "rectangular_farmland", "river", "roundabout", "runway",
        "sea_ice", "ship", "snowberg", "sparse_residential", "stadium", "storage_tank",
        "tennis_court", "terrace", "thermal_power_station", "wetland",
    )
    image_dirs = ("NWPU-RESISC45",)
    extensions = (".jpg", ".jpeg")
    layout = ("NWPU-RESISC45/<class>/<class>_NNN.jpg "
              "(+ resisc45-{train,val,test}.txt for the official split)")
    official_splits = ("torchgeo",)

    torchgeo_class = "torchgeo.datasets:RESISC45"
    url = _HF + "NWPU-RESISC45.zip"
    md5 = "75206b2e16446591afa88e2628744886"
    split_filenames: ClassVar[dict[str, dict[str, str]]] = {
        "torchgeo": {s: f"resisc45-{s}.txt" for s in ("train", "val", "test")},
    }
    split_urls: ClassVar[dict[str, dict[str, str]]] = {
        "torchgeo": {s: _HF + f"resisc45-{s}.txt" for s in ("train", "val", "test")},
    }
    split_md5s: ClassVar[dict[str, dict[str, str]]] = {
        "torchgeo": {"train": "b5a4c05a37de15e4ca886696a85c403e",
                     "val": "a0770cee4c5ca20b8c32bbd61e114805",
                     "test": "3dda9e4988b47eb1de9f07993653eb08"},
    }
