"""Fake xView train release in its real layout.

    <root>/train_images/<n>.tif      RGB uint8 TIFF
    <root>/xView_train.geojson       features with properties image_id, bounds_imcoords
                                     ("x1,y1,x2,y2") and type_id

Besides random boxes of known classes, image 0 carries a feature of type_id 75 (not one of the
60 classes: skipped) and one box running past the image edge (clipped); the last image has no
features (a background image). Run as a script to write ``./xview``.
"""

import json
from pathlib import Path

import numpy as np
import tifffile

from rsbench.data.detection import XVIEW_TYPE_IDS

N_IMAGES = 10
SIZE = 48


def feature(image_id: str, box: tuple[int, int, int, int], type_id: int) -> dict:
    """One GeoJSON feature as in xView (geometry in lon/lat, unused by readers)."""
    return {"type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[0.0, 0.0], [0.0, 1e-5],
                                                             [1e-5, 1e-5], [0.0, 0.0]]]},
            "properties": {"image_id": image_id, "type_id": type_id,
                           "bounds_imcoords": ",".join(str(v) for v in box)}}


def make(root: Path, seed: int = 0) -> Path:
    """Write the fake dataset under ``root`` (a folder named ``xview``); returns ``root``."""
    root = Path(root)
    (root / "train_images").mkdir(parents=True, exist_ok=True)
    features = []
    for n in range(N_IMAGES):
        rng = np.random.default_rng((seed, n))
        name = f"{100 + n}.tif"
        tifffile.imwrite(root / "train_images" / name,
                         rng.integers(0, 256, size=(SIZE, SIZE, 3), dtype=np.uint8))
        if n == N_IMAGES - 1:
            continue
        for _ in range(int(rng.integers(1, 4))):
            x, y = (int(v) for v in rng.integers(0, SIZE - 10, size=2))
            w, h = (int(v) for v in rng.integers(3, 10, size=2))
            type_id = XVIEW_TYPE_IDS[int(rng.integers(0, len(XVIEW_TYPE_IDS)))]
            features.append(feature(name, (x, y, x + w, y + h), type_id))
        if n == 0:
            features.append(feature(name, (5, 5, 9, 9), 75))
            features.append(feature(name, (40, 30, 60, 44), 73))
    doc = {"type": "FeatureCollection", "features": features}
    (root / "xView_train.geojson").write_text(json.dumps(doc))
    return root


if __name__ == "__main__":
    print(make(Path("xview")))
