"""Fake EuroSAT (all bands) in its real layout (as torchgeo 0.8 downloads and extracts it).

    <root>/ds/images/remote_sensing/otherDatasets/sentinel_2/tif/<Class>/<Class>_N.tif
        10 classes, 13-band uint16 GeoTIFF (band order B01..B12, B8A), LZW, UTM CRS
    <root>/eurosat-{train,val,test}.txt     60/20/20 per class; names end in .jpg as in the
                                            real files (torchgeo maps them to .tif)
    <root>/eurosat-spatial-{...}.txt        60/20/20 by longitude (west to east)

Values are drawn in [0, 6000) so the RGB scaling's clip at 3000 is exercised.
Run as a script to write ``./eurosat`` with 3 images per class.
"""

from pathlib import Path

import numpy as np
import rasterio

from rsbench.data.eurosat import EuroSATAdapter


def split_of(i: int, n: int) -> str:
    """60/20/20 by index: the last fifth is test, the fifth before it val (>= 1 each for n >= 3)."""
    k = max(1, round(0.2 * n))
    return "test" if i >= n - k else "val" if i >= n - 2 * k else "train"


def make(root: Path, n_per_class: int = 3, size: int = 8, seed: int = 0) -> Path:
    """Write the fake dataset under ``root``; same seed, same pixels. Returns ``root``."""
    root = Path(root)
    lists: dict[str, list[str]] = {f"{p}{s}": [] for p in ("", "spatial-")
                                   for s in ("train", "val", "test")}
    profile = {"driver": "GTiff", "dtype": "uint16", "count": 13, "height": size, "width": size,
               "crs": "EPSG:32632", "compress": "lzw"}
    for k, cls in enumerate(sorted(EuroSATAdapter.classes)):
        folder = root / EuroSATAdapter.image_dirs[0] / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            rng = np.random.default_rng((seed, k, i))
            bands = rng.integers(0, 6000, size=(13, size, size), dtype=np.uint16)
            name = f"{cls}_{i + 1}"
            # 10 m pixels on a UTM grid, as the real patches have.
            transform = rasterio.Affine(10.0, 0.0, 500000.0 + 640 * i, 0.0, -10.0, 5000000.0)
            with rasterio.open(folder / f"{name}.tif", "w", transform=transform, **profile) as dst:
                dst.write(bands)
            # Image i lies further east with i: the spatial split cuts by index, the random one
            # by a rotated index so that the two differ.
            lists["spatial-" + split_of(i, n_per_class)].append(f"{name}.jpg")
            lists[split_of((i + 1) % n_per_class, n_per_class)].append(f"{name}.jpg")
    for split, names in lists.items():
        (root / f"eurosat-{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return root


if __name__ == "__main__":
    print(make(Path("eurosat")))
