"""A tiny BigEarthNet v1 (S2) in the on-disk layout torchgeo 0.8's ``BigEarthNet`` reads.

Per patch, 12 single-band uint16 GeoTIFFs at each band's real size (10 m bands 120 px, 20 m 60 px,
60 m 20 px) and a ``_labels_metadata.json`` with 43-class names; three split CSVs listing
``<s2 patch>,<s1 patch>``. Labels are hand-chosen: patches share some, differ in others, and use
names that merge (both urban fabrics -> "Urban fabric") and that the 19 classes drop (Airports).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

BANDS_10M = ("B02", "B03", "B04", "B08")
BANDS_20M = ("B05", "B06", "B07", "B8A", "B11", "B12")
BANDS_60M = ("B01", "B09")
#: (split, 43-class label names) per patch, in split-file order.
PATCHES = (
    ("train", ["Continuous urban fabric", "Discontinuous urban fabric", "Airports"]),
    ("train", ["Pastures", "Broad-leaved forest"]),
    ("train", ["Coniferous forest", "Mixed forest"]),
    ("train", ["Sea and ocean", "Coastal lagoons", "Beaches, dunes, sands"]),
    ("train", ["Non-irrigated arable land", "Pastures"]),
    ("train", ["Broad-leaved forest", "Coniferous forest", "Water bodies"]),
    ("val", ["Discontinuous urban fabric", "Industrial or commercial units"]),
    ("val", ["Pastures", "Complex cultivation patterns"]),
    ("val", ["Sea and ocean"]),
    ("test", ["Continuous urban fabric", "Pastures"]),
    ("test", ["Coniferous forest", "Broad-leaved forest"]),
    ("test", ["Sea and ocean", "Estuaries"]),
    ("test", ["Non-irrigated arable land", "Broad-leaved forest"]),
    ("test", ["Airports"]),  # no label left in the 19 classes
)


def patch_name(i: int) -> str:
    """An S2 patch name in BigEarthNet's form (tile, date, column, row)."""
    return f"S2A_MSIL2A_20170613T101031_{i}_{40 + i}"


def write_band(path: Path, array: np.ndarray) -> None:
    """A single-band uint16 GeoTIFF as BigEarthNet ships (UTM, 10/20/60 m pixels)."""
    import rasterio
    from rasterio.transform import from_origin

    size = array.shape[0]
    gsd = 1200 / size
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1,
                       dtype="uint16", crs="EPSG:32632",
                       transform=from_origin(500000, 5000000, gsd, gsd)) as dst:
        dst.write(array.astype(np.uint16), 1)


def make_fake_bigearthnet(root: Path, seed: int = 0) -> Path:
    """Write the fake under ``root`` (created) and return it."""
    rng = np.random.default_rng(seed)
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for i, (split, labels) in enumerate(PATCHES):
        name = patch_name(i)
        folder = root / "BigEarthNet-v1.0" / name
        folder.mkdir(parents=True)
        level = 500 + 900 * (len(labels[0]) % 7)  # patches that share a first label look alike
        for bands, size in ((BANDS_10M, 120), (BANDS_20M, 60), (BANDS_60M, 20)):
            for band in bands:
                noise = rng.integers(0, 2500, size=(size, size))
                write_band(folder / f"{name}_{band}.tif", level + noise)
        (folder / f"{name}_labels_metadata.json").write_text(json.dumps(
            {"labels": labels, "coordinates": {}, "projection": "", "tile_source": "",
             "acquisition_date": "2017-06-13 10:10:31"}))
        splits[split].append(f"{name},S1A_IW_GRDH_1SDV_20170613T165043_33UUP_{i}_{40 + i}")
    for split, lines in splits.items():
        (root / f"bigearthnet-{split}.csv").write_text("\n".join(lines) + "\n")
    return root
