"""Fake ISPRS Vaihingen raw release in its real layout, all 33 official tiles (tiny).

    <src>/top/top_mosaic_09cm_area<n>.tif                      IRRG uint8 TIFF
    <src>/gts_for_participants/top_mosaic_09cm_area<n>.tif     colour-coded RGB uint8 TIFF

Run as a script to write ``./vaihingen_raw``.
"""

import importlib.util
from pathlib import Path

import numpy as np
import tifffile

from rsbench.data.segmentation.isprs import VaihingenAdapter

_spec = importlib.util.spec_from_file_location(
    "_fake_potsdam_tiles", Path(__file__).parent.parent / "potsdam" / "make.py")
_potsdam = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_potsdam)


def make(src: Path, height: int = 90, width: int = 70, seed: int = 0) -> Path:
    """Write all official tiles under ``src``; returns ``src``."""
    src = Path(src)
    adapter = VaihingenAdapter()
    (src / adapter.image_dir).mkdir(parents=True, exist_ok=True)
    (src / "gts_for_participants").mkdir(parents=True, exist_ok=True)
    tiles = [t for split in ("train", "test") for t in adapter.tiles[split]]
    for i, tile in enumerate(tiles):
        image, label = _potsdam.fake_tile(height, width, np.random.default_rng((seed, 100 + i)))
        tifffile.imwrite(src / adapter.image_dir / adapter.image_name(tile), image)
        tifffile.imwrite(src / "gts_for_participants" / adapter.label_name(tile), label)
    return src


if __name__ == "__main__":
    print(make(Path("vaihingen_raw")))
