"""Fake ISPRS Potsdam raw release in the layouts people have (tiny tiles).

    layout="official":  <src>/2_Ortho_RGB/top_potsdam_<id>_RGB.tif              RGB
                        <src>/3_Ortho_IRRG/top_potsdam_<id>_IRRG.tif            NIR, R, G
                        <src>/4_Ortho_RGBIR/top_potsdam_<id>_RGBIR.tif          R, G, B, NIR
                        <src>/5_Labels_all_noBoundary/top_potsdam_<id>_label_noBoundary.tif
                        <src>/5_Labels_all/top_potsdam_<id>_label.tif           colour-coded
    layout="torchgeo":  <src>/4_Ortho_RGBIR/... and the full labels at <src>/ (Potsdam2D)

``images`` picks among rgb / irrg / rgbir, ``labels`` among eroded / full. Labels are random
rectangles of the six ISPRS colours; the eroded label paints black where a pixel's right or
lower neighbour has another class (as the official boundary erosion does, thinner). Run as a
script to write ``./potsdam_raw``.
"""

from pathlib import Path

import numpy as np
import tifffile

from rsbench.data.segmentation.isprs import PotsdamAdapter

COLOURS = ((255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0))
IMAGE_FILES = {"rgb": ("2_Ortho_RGB", "_RGB.tif", [0, 1, 2]),
               "irrg": ("3_Ortho_IRRG", "_IRRG.tif", [3, 0, 1]),
               "rgbir": ("4_Ortho_RGBIR", "_RGBIR.tif", [0, 1, 2, 3])}
LABEL_FILES = {"eroded": ("5_Labels_all_noBoundary", "_label_noBoundary.tif"),
               "full": ("5_Labels_all", "_label.tif")}


def fake_tile(height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(R-G-B-NIR image [H, W, 4], colour label [H, W, 3])`` uint8; image follows the label."""
    label = np.full((height, width, 3), 255, np.uint8)
    for _ in range(6):
        y, x = rng.integers(0, height), rng.integers(0, width)
        h, w = rng.integers(4, max(5, height // 2)), rng.integers(4, max(5, width // 2))
        label[y:y + h, x:x + w] = COLOURS[int(rng.integers(0, len(COLOURS)))]
    noise = rng.integers(0, 40, size=(height, width, 4))
    base = np.concatenate([label, label[..., 1:2]], axis=-1).astype(np.int64)
    return (base * 3 // 4 + noise).astype(np.uint8), label


def eroded(label: np.ndarray) -> np.ndarray:
    """``label`` with black (0, 0, 0) where the right or lower neighbour differs."""
    edge = np.zeros(label.shape[:2], bool)
    edge[:, :-1] |= (label[:, :-1] != label[:, 1:]).any(-1)
    edge[:-1] |= (label[:-1] != label[1:]).any(-1)
    out = label.copy()
    out[edge] = 0
    return out


def make(src: Path, height: int = 100, width: int = 80, seed: int = 0, images=("rgb",),
         labels=("eroded",), layout: str = "official", tiles=None) -> Path:
    """Write the official tiles (or ``tiles``) under ``src``; returns ``src``."""
    src = Path(src)
    adapter = PotsdamAdapter()
    every = [t for split in ("train", "test") for t in adapter.tiles[split]]
    if layout == "torchgeo":
        images, labels = ("rgbir",), ("full",)
    for i, tile in enumerate(every):
        if tiles is not None and tile not in tiles:
            continue
        image, label = fake_tile(height, width, np.random.default_rng((seed, i)))
        for kind in images:
            folder, suffix, bands = IMAGE_FILES[kind]
            (src / folder).mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(src / folder / f"top_potsdam_{tile}{suffix}", image[..., bands])
        for kind in labels:
            folder, suffix = LABEL_FILES[kind]
            folder = "." if layout == "torchgeo" else folder
            (src / folder).mkdir(parents=True, exist_ok=True)
            tifffile.imwrite(src / folder / f"top_potsdam_{tile}{suffix}",
                             eroded(label) if kind == "eroded" else label)
    return src


if __name__ == "__main__":
    print(make(Path("potsdam_raw")))
