"""Fake BigEarthNet v2 (reBEN) in its real layout (as torchgeo 0.8's ``BigEarthNetV2`` reads it).

    <root>/BigEarthNet-S2/<tile>/<patch>/<patch>_<band>.tif   12 uint16 bands at their real
        sizes (10 m 120 px, 20 m 60 px, 60 m 20 px)
    <root>/BigEarthNet-S1/<scene>/<s1 patch>/<s1 patch>_VV.tif, _VH.tif   float32 dB, 120 px
    <root>/Reference_Maps/<tile>/<patch>/<patch>_reference_map.tif      uint16 CLC codes
    <root>/metadata.parquet   patch_id, s1_name, split, labels (19-class names), country

Rows of the three splits are interleaved in the metadata (:data:`PATCHES`), so a reader that
loses the metadata's order shows. Needs pyarrow (pandas writes the parquet with it).
Run as a script to write ``./bigearthnet_v2``.
"""

from pathlib import Path

import numpy as np

#: (split value in the metadata, 19-class label names) per patch, in metadata order.
PATCHES = (
    ("train", ["Urban fabric", "Industrial or commercial units"]),
    ("test", ["Coniferous forest", "Natural grassland and sparsely vegetated areas"]),
    ("train", ["Broad-leaved forest", "Mixed forest", "Transitional woodland, shrub"]),
    ("validation", ["Arable land", "Pastures", "Inland waters"]),
    ("train", ["Marine waters", "Beaches, dunes, sands"]),
    ("test", ["Urban fabric", "Arable land"]),
    ("train", ["Arable land", "Complex cultivation patterns"]),
    ("validation", ["Coniferous forest"]),
    ("test", ["Marine waters"]),
)
BANDS = {120: ("B02", "B03", "B04", "B08"), 60: ("B05", "B06", "B07", "B8A", "B11", "B12"),
         20: ("B01", "B09")}
TILES = ("T33UUP", "T32TQT", "T32TNS")


def s2_name(i: int) -> tuple[str, str]:
    """``(tile folder, patch name)`` of S2 patch ``i`` in reBEN's form."""
    tile = f"S2A_MSIL2A_2017061{i % 3}T101031_N9999_R022_{TILES[i % 3]}"
    return tile, f"{tile}_{20 + i}_{50 + i}"


def s1_name(i: int) -> tuple[str, str]:
    """``(scene folder, patch name)`` of S1 patch ``i`` in reBEN's form."""
    scene = f"S1A_IW_GRDH_1SDV_2017061{i % 3}T165043"
    return scene, f"{scene}_{TILES[i % 3][1:]}_{60 + i}_{30 + i}"


def write_tif(path: Path, array: np.ndarray, dtype: str) -> None:
    """A single-band GeoTIFF in UTM over the patch's 1.2 km."""
    import rasterio
    from rasterio.transform import from_origin

    path.parent.mkdir(parents=True, exist_ok=True)
    gsd = 1200 / array.shape[0]
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0],
                       count=1, dtype=dtype, crs="EPSG:32632",
                       transform=from_origin(500000, 5000000, gsd, gsd)) as dst:
        dst.write(array.astype(dtype), 1)


def make(root: Path, seed: int = 0) -> Path:
    """Write the fake dataset under ``root``; same seed, same pixels. Returns ``root``."""
    import pandas as pd

    root = Path(root)
    rng = np.random.default_rng(seed)
    rows = []
    for i, (split, labels) in enumerate(PATCHES):
        (tile, s2), (scene, s1) = s2_name(i), s1_name(i)
        level = 400 + 700 * (len(labels[0]) % 9)  # patches sharing a first label look alike
        for size, bands in BANDS.items():
            for band in bands:
                write_tif(root / "BigEarthNet-S2" / tile / s2 / f"{s2}_{band}.tif",
                          level + rng.integers(0, 3000, size=(size, size)), "uint16")
        for band, base in (("VV", -10.0), ("VH", -17.0)):
            write_tif(root / "BigEarthNet-S1" / scene / s1 / f"{s1}_{band}.tif",
                      base + rng.uniform(-7.0, 7.0, size=(120, 120)), "float32")
        write_tif(root / "Reference_Maps" / tile / s2 / f"{s2}_reference_map.tif",
                  np.full((120, 120), 111), "uint16")
        rows.append({"patch_id": s2, "labels": labels, "split": split, "country": "Austria",
                     "s1_name": s1, "s2v1_name": f"S2A_MSIL2A_20170613T101031_{i}_{i}",
                     "contains_seasonal_snow": False, "contains_cloud_or_shadow": False})
    pd.DataFrame.from_records(rows).to_parquet(root / "metadata.parquet")
    return root


if __name__ == "__main__":
    print(make(Path("bigearthnet_v2")))
