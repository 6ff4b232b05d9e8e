"""AID, the Aerial Image Dataset (Xia et al., IEEE TGRS 2017).

10,000 Google Earth RGB images, 30 classes (220-420 each), 600 x 600 px, 0.5-8 m, JPEG. torchgeo
has no class for it and there is no stable direct download, so it is read as distributed::

    <root>/AID/<Class>/<class>_N.jpg      e.g. AID/Airport/airport_1.jpg
    (or the class folders directly under <root>)

There is no official split: the papers use random 2:8 and 5:5 ratio splits.
"""

from __future__ import annotations

from rsbench.data.base import SceneAdapter


class AIDAdapter(SceneAdapter):
    """AID through the generic folder-per-class reader."""

    name = "aid"
    title = "AID (Aerial Image Dataset)"
    homepage = "https://captain-whu.github.io/AID/"
    classes = (
        "Airport", "BareLand", "BaseballField", "Beach", "Bridge", "Center", "Church",
        "Commercial", "DenseResidential", "Desert", "Farmland", "Forest", "Industrial", "Meadow",
        "MediumResidential", "Mountain", "Park", "Parking", "Playground", "Pond", "Port",
        "RailwayStation", "Resort", "River", "School", "SparseResidential", "Square", "Stadium",
        "StorageTanks", "Viaduct",
    )
    image_dirs = ("AID", ".")
    layout = "AID/<Class>/<class>_N.jpg"
