"""UC Merced Land Use (Yang & Newsam, ACM SIGSPATIAL 2010).

2,100 aerial RGB images, 21 classes x 100, 256 x 256 px (a few slightly smaller), 0.3 m,
8-bit TIFF. On disk (as torchgeo 0.8 downloads it, and as the original zip extracts apart from
the three split files)::

    <root>/UCMerced_LandUse/Images/<class>/<class>NN.tif      NN = 00..99
    <root>/uc_merced-{train,val,test}.txt                      torchgeo's 60/20/20 split
"""

from __future__ import annotations

from typing import ClassVar

from rsbench.data.torchgeo_base import TorchGeoAdapter

_HF = "https://hf.co/datasets/torchgeo/ucmerced/resolve/7c5ef3454d9b1cccfa7ccde0c01fc8f00a45909a/"


class UCMercedAdapter(TorchGeoAdapter):
    """UC Merced through ``torchgeo.datasets.UCMerced`` (download, official split)."""

    name = "ucmerced"
    title = "UC Merced Land Use"
    homepage = "http://weegee.vision.ucmerced.edu/datasets/landuse.html"
    classes = (
        "agricultural", "airplane", "baseballdiamond", "beach", "buildings", "chaparral",
        "denseresidential", "forest", "freeway", "golfcourse", "harbor", "intersection",
        "mediumresidential", "mobilehomepark", "overpass", "parkinglot", "river", "runway",
        "sparseresidential", "storagetanks", "tenniscourt",
    )
    image_dirs = ("UCMerced_LandUse/Images",)
    extensions = (".tif", ".tiff")
    layout = ("UCMerced_LandUse/Images/<class>/<class>NN.tif "
              "(+ uc_merced-{train,val,test}.txt for the official split)")
    official_splits = ("torchgeo",)

    torchgeo_class = "torchgeo.datasets:UCMerced"
    url = _HF + "UCMerced_LandUse.zip"
    md5 = "5b7ec56793786b6dc8a908e8854ac0e4"
    split_filenames: ClassVar[dict[str, dict[str, str]]] = {
        "torchgeo": {s: f"uc_merced-{s}.txt" for s in ("train", "val", "test")},
    }
    split_urls: ClassVar[dict[str, dict[str, str]]] = {
        "torchgeo": {s: _HF + f"uc_merced-{s}.txt" for s in ("train", "val", "test")},
    }
    split_md5s: ClassVar[dict[str, dict[str, str]]] = {
        "torchgeo": {"train": "f2fb12eb2210cfb53f93f063a35ff374",
                     "val": "11ecabfc52782e5ea6a9c7c0d263aca0",
                     "test": "046aff88472d8fc07c4678d03749e28d"},
    }
