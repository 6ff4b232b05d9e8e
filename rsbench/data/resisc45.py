"""NWPU-RESISC45 (Cheng, Han & Lu, Proc. IEEE 2017).

31,500 Google Earth RGB images, 45 classes x 700, 256 x 256 px, 0.2-30 m, JPEG. On disk (as
torchgeo 0.8 downloads it; the original archive extracts to the same class folders)::

    <root>/NWPU-RESISC45/<class>/<class>_NNN.jpg       NNN = 001..700
    <root>/resisc45-{train,val,test}.txt                torchgeo's 60/20/20 split
"""

from __future__ import annotations

from rsbench.data.torchgeo_base import TorchGeoAdapter
from rsbench.data.torchgeo_meta import FromTorchGeo


class RESISC45Adapter(TorchGeoAdapter):
    """NWPU-RESISC45 through ``torchgeo.datasets.RESISC45`` (download, official split); its
    folder, URLs and md5s are torchgeo's class attributes."""

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
    extensions = (".jpg", ".jpeg")
    layout = ("NWPU-RESISC45/<class>/<class>_NNN.jpg "
              "(+ resisc45-{train,val,test}.txt for the official split)")
    official_splits = ("torchgeo",)

    torchgeo_class = "torchgeo.datasets:RESISC45"
    image_dirs = FromTorchGeo(lambda tg: (str(tg("directory")),))
    url = FromTorchGeo(lambda tg: tg("url"))
    md5 = FromTorchGeo(lambda tg: tg("md5"))
    split_urls = FromTorchGeo(lambda tg: {"torchgeo": dict(tg("split_urls"))})
    # torchgeo saves each split file under its URL's last part (resisc45-train.txt)
    split_filenames = FromTorchGeo(lambda tg: {"torchgeo": {
        split: url.rsplit("/", 1)[-1] for split, url in tg("split_urls").items()}})
    split_md5s = FromTorchGeo(lambda tg: {"torchgeo": dict(tg("split_md5s"))})
