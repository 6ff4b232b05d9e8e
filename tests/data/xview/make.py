"""Fake xView train release in its real layout.

    <root>/train_images/<n>.tif      RGB uint8 TIFF
    <root>/xView_train.geojson       features with properties image_id, bounds_imcoords
                                     ("x1,y1,x2,y2") and type_id

Besides random boxes of known classes, image 0 carries a feature of type_id 75 (not one of the
60 classes: skipped) and one box running past the image edge (clipped); the last image has no
features (a background image). Run as a script to write ``./xview``.

``make_scenes`` writes scenes larger than a test tile, for ``rsbench data prepare xview``:
scene ``200.tif`` (150 x 130, stored band-sequential as some GeoTIFFs are) carries only
hand-placed boxes whose tiles are worked out in the tests; the others carry random boxes, one
has none, one is smaller than a tile, and a feature names a scene that is not there.
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


#: Scene ``200.tif``'s features: a Building cut by the tile edge at x = 48 (60% visible in
#: the tile starting there), a Small Car running past the scene corner, an unknown type_id, an
#: aircraft wholly outside the scene.
HAND_FEATURES = (((40, 10, 60, 30), 73), ((140, 120, 160, 140), 18), ((5, 5, 9, 9), 75),
                 ((155, 5, 170, 20), 11))
SCENE_SIZES = ((150, 130), (100, 90), (40, 50), (64, 64), (120, 120), (90, 140), (70, 80),
               (130, 60), (110, 100), (80, 80))


def make_scenes(root: Path, seed: int = 0) -> Path:
    """Write the scenes (``SCENE_SIZES``, width x height, named 200.tif on) under ``root``."""
    root = Path(root)
    (root / "train_images").mkdir(parents=True, exist_ok=True)
    features = [feature("200.tif", box, type_id) for box, type_id in HAND_FEATURES]
    for n, (width, height) in enumerate(SCENE_SIZES):
        rng = np.random.default_rng((seed, 200 + n))
        name = f"{200 + n}.tif"
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        if n == 0:
            tifffile.imwrite(root / "train_images" / name, pixels.transpose(2, 0, 1),
                             photometric="rgb", planarconfig="separate")
            continue
        tifffile.imwrite(root / "train_images" / name, pixels)
        if n == 3:
            continue
        for _ in range(int(rng.integers(2, 6))):
            x, y = int(rng.integers(0, width - 4)), int(rng.integers(0, height - 4))
            w, h = (int(v) for v in rng.integers(3, 30, size=2))
            type_id = XVIEW_TYPE_IDS[int(rng.integers(0, len(XVIEW_TYPE_IDS)))]
            features.append(feature(name, (x, y, x + w, y + h), type_id))
    features.append(feature("999.tif", (1, 1, 5, 5), 18))
    doc = {"type": "FeatureCollection", "features": features}
    (root / "xView_train.geojson").write_text(json.dumps(doc))
    return root


if __name__ == "__main__":
    print(make(Path("xview")))
