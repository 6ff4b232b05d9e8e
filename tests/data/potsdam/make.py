"""Fake ISPRS Potsdam raw release in its real layout, all 38 official tiles (tiny).

    <src>/2_Ortho_RGB/top_potsdam_<id>_RGB.tif       RGB uint8 TIFF
    <src>/5_Labels_all/top_potsdam_<id>_label.tif    colour-coded RGB uint8 TIFF

Labels are random rectangles of the six ISPRS colours (clutter included) on impervious
surfaces. Run as a script to write ``./potsdam_raw``.
"""

from pathlib import Path

import numpy as np
import tifffile

from rsbench.data.segmentation.isprs import PotsdamAdapter

COLOURS = ((255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0))


def fake_tile(height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(image, colour label)``, both ``[H, W, 3]`` uint8; image colour follows the label."""
    label = np.full((height, width, 3), 255, np.uint8)
    for _ in range(6):
        y, x = rng.integers(0, height), rng.integers(0, width)
        h, w = rng.integers(4, max(5, height // 2)), rng.integers(4, max(5, width // 2))
        label[y:y + h, x:x + w] = COLOURS[int(rng.integers(0, len(COLOURS)))]
    noise = rng.integers(0, 40, size=label.shape)
    image = (label.astype(np.int64) * 3 // 4 + noise).astype(np.uint8)
    return image, label


def make(src: Path, height: int = 100, width: int = 80, seed: int = 0) -> Path:
    """Write all official tiles under ``src``; returns ``src``."""
    src = Path(src)
    adapter = PotsdamAdapter()
    (src / adapter.image_dir).mkdir(parents=True, exist_ok=True)
    (src / "5_Labels_all").mkdir(parents=True, exist_ok=True)
    tiles = [t for split in ("train", "test") for t in adapter.tiles[split]]
    for i, tile in enumerate(tiles):
        image, label = fake_tile(height, width, np.random.default_rng((seed, i)))
        tifffile.imwrite(src / adapter.image_dir / adapter.image_name(tile), image)
        tifffile.imwrite(src / "5_Labels_all" / adapter.label_name(tile), label)
    return src


if __name__ == "__main__":
    print(make(Path("potsdam_raw")))
