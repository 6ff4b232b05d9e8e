"""Fake ISPRS Vaihingen raw release in the layouts people have (tiny tiles).

    layout="official":  <src>/top/top_mosaic_09cm_area<n>.tif                  IRRG
        <src>/ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE/top_mosaic_09cm_area<n>_noBoundary.tif
        <src>/ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE/top_mosaic_09cm_area<n>.tif
    layout="torchgeo":  <src>/top/... and the full labels at <src>/ (Vaihingen2D)

Run as a script to write ``./vaihingen_raw``.
"""

import importlib.util
from pathlib import Path

import numpy as np
import tifffile

from rsbench.data.segmentation.isprs import VaihingenAdapter

_spec = importlib.util.spec_from_file_location(
    "_fake_potsdam_tiles", Path(__file__).parent.parent / "potsdam" / "make.py")
potsdam = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(potsdam)
LABEL_FOLDERS = {"eroded": "ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE",
                 "full": "ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE"}


def make(src: Path, height: int = 90, width: int = 70, seed: int = 0, labels=("eroded",),
         layout: str = "official", tiles=None) -> Path:
    """Write the official tiles (or ``tiles``) under ``src``; returns ``src``."""
    src = Path(src)
    adapter = VaihingenAdapter()
    every = [t for split in ("train", "test") for t in adapter.tiles[split]]
    if layout == "torchgeo":
        labels = ("full",)
    (src / "top").mkdir(parents=True, exist_ok=True)
    for i, tile in enumerate(every):
        if tiles is not None and tile not in tiles:
            continue
        image, label = potsdam.fake_tile(height, width, np.random.default_rng((seed, 100 + i)))
        name = f"top_mosaic_09cm_area{tile}"
        tifffile.imwrite(src / "top" / f"{name}.tif", image[..., [3, 0, 1]])
        for kind in labels:
            folder = src / ("." if layout == "torchgeo" else LABEL_FOLDERS[kind])
            folder.mkdir(parents=True, exist_ok=True)
            if kind == "eroded":
                tifffile.imwrite(folder / f"{name}_noBoundary.tif", potsdam.eroded(label))
            else:
                tifffile.imwrite(folder / f"{name}.tif", label)
    return src


if __name__ == "__main__":
    print(make(Path("vaihingen_raw")))
