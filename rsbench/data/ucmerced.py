"""UC Merced Land Use (Yang & Newsam, ACM SIGSPATIAL 2010).

2,100 aerial RGB images, 21 classes x 100, 256 x 256 px (a few slightly smaller), 0.3 m,
8-bit TIFF. On disk (as torchgeo 0.8 downloads it, and as the original zip extracts apart from
the three split files)::

    <root>/UCMerced_LandUse/Images/<class>/<class>NN.tif      NN = 00..99
    <root>/uc_merced-{train,val,test}.txt                      torchgeo's 60/20/20 split
"""

from __future__ import annotations

from rsbench.data.torchgeo_base import TorchGeoAdapter
from rsbench.data.torchgeo_meta import FromTorchGeo


class UCMercedAdapter(TorchGeoAdapter):
    """UC Merced through ``torchgeo.datasets.UCMerced`` (download, official split); its folder,
    URLs, file names and md5s are torchgeo's class attributes."""

    name = "ucmerced"
    title = "UC Merced Land Use"
    homepage = "http://weegee.vision.ucmerced.edu/datasets/landuse.html"
    classes = (
        "agricultural", "airplane", "baseballdiamond", "beach", "buildings", "chaparral",
        "denseresidential", "forest", "freeway", "golfcourse", "harbor", "intersection",
        "mediumresidential", "mobilehomepark", "overpass", "parkinglot", "river", "runway",
        "sparseresidential", "storagetanks", "tenniscourt",
    )
    extensions = (".tif", ".tiff")
    layout = ("UCMerced_LandUse/Images/<class>/<class>NN.tif "
              "(+ uc_merced-{train,val,test}.txt for the official split)")
    official_splits = ("torchgeo",)

    torchgeo_class = "torchgeo.datasets:UCMerced"
    image_dirs = FromTorchGeo(lambda tg: (str(tg("base_dir")),))
    url = FromTorchGeo(lambda tg: tg("url") + tg("filename"))
    md5 = FromTorchGeo(lambda tg: tg("md5"))
    split_filenames = FromTorchGeo(lambda tg: {"torchgeo": dict(tg("split_filenames"))})
    # torchgeo downloads each split file from its url + the split file name
    split_urls = FromTorchGeo(lambda tg: {"torchgeo": {
        split: tg("url") + filename for split, filename in tg("split_filenames").items()}})
    split_md5s = FromTorchGeo(lambda tg: {"torchgeo": dict(tg("split_md5s"))})
