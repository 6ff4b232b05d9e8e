"""A tiny BigEarthNet v1 (S2) in the on-disk layout torchgeo 0.8's ``BigEarthNet`` reads.

Per patch, 12 single-band uint16 GeoTIFFs at each band's real size (10 m bands 120 px, 20 m 60 px,
60 m 20 px) and a ``_labels_metadata.json`` with 43-class names; three split CSVs listing
``<s2 patch>,<s1 patch>``. Labels are hand-chosen: patches share some, differ in others, and use
names that merge (both urban fabrics -> "Urban fabric") and that the 19 classes drop (Airports).

Each S2 patch has its Sentinel-1 partner as torchgeo reads ``bands="s1"|"all"``: VV and VH float32
GeoTIFFs of backscatter in dB (120 px) and its own label file, holding the S2 patch's names except
in one patch (:data:`S1_LABELS`), so a test can tell which label file was read.
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


#: Patch index -> the S1 label file's names where they differ from the S2 patch's.
S1_LABELS = {13: ["Airports", "Water bodies"]}


def patch_name(i: int) -> str:
    """An S2 patch name in BigEarthNet's form (tile, date, column, row)."""
    return f"S2A_MSIL2A_20170613T101031_{i}_{40 + i}"


def s1_name(i: int) -> str:
    """An S1 patch name in BigEarthNet's form (mission, mode, date, tile, column, row)."""
    return f"S1A_IW_GRDH_1SDV_20170613T165043_33UUP_{i}_{40 + i}"


def write_band(path: Path, array: np.ndarray, dtype: str = "uint16") -> None:
    """A single-band GeoTIFF as BigEarthNet ships (UTM, 10/20/60 m pixels)."""
    import rasterio
    from rasterio.transform import from_origin

    size = array.shape[0]
    gsd = 1200 / size
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1,
                       dtype=dtype, crs="EPSG:32632",
                       transform=from_origin(500000, 5000000, gsd, gsd)) as dst:
        dst.write(array.astype(dtype), 1)


def write_s1_patch(root: Path, i: int, s2_labels: list[str], rng: np.random.Generator) -> None:
    """The S1 partner of S2 patch ``i``: VV, VH in dB with decimals, and its label file."""
    name = s1_name(i)
    folder = root / "BigEarthNet-S1-v1.0" / name
    folder.mkdir(parents=True)
    shift = 2.5 * (len(s2_labels[0]) % 7)  # as the S2 bands: a shared first label looks alike
    for band, level in (("VV", -6.0), ("VH", -13.0)):
        write_band(folder / f"{name}_{band}.tif", level - shift
                   + rng.uniform(-1.5, 1.5, size=(120, 120)), dtype="float32")
    (folder / f"{name}_labels_metadata.json").write_text(json.dumps(
        {"labels": S1_LABELS.get(i, s2_labels), "corresponding_s2_patch": patch_name(i)}))


def make_fake_bigearthnet(root: Path, seed: int = 0) -> Path:
    """Write the fake under ``root`` (created) and return it."""
    rng = np.random.default_rng(seed)
    s1_rng = np.random.default_rng(seed + 1)  # its own stream: the S2 pixels stay as they were
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
        write_s1_patch(root, i, labels, s1_rng)
        splits[split].append(f"{name},{s1_name(i)}")
    for split, lines in splits.items():
        (root / f"bigearthnet-{split}.csv").write_text("\n".join(lines) + "\n")
    return root
