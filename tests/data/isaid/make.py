"""Fake iSAID prepared patches in the iSAID devkit's layout.

    <root>/{train,val}/images/P<scene>_<y0>_<y1>_<x0>_<x1>.png                      RGB
    <root>/{train,val}/images/P<scene>_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png   colours

Masks are background with random rectangles in iSAID palette colours (plus one off-palette
colour, which must be ignored). Run as a script to write ``./isaid``.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.segmentation.isaid import ISAID_PALETTE

COLOURS = sorted(ISAID_PALETTE)
OFF_PALETTE = (10, 20, 30)


def make(root: Path, scenes: int = 3, patches: int = 2, size: int = 32, seed: int = 0) -> Path:
    """Write ``scenes`` x ``patches`` patches per split under ``root``; returns ``root``."""
    root = Path(root)
    for s, split in enumerate(("train", "val")):
        folder = root / split / "images"
        folder.mkdir(parents=True, exist_ok=True)
        for scene in range(scenes):
            for p in range(patches):
                rng = np.random.default_rng((seed, s, scene, p))
                mask = np.zeros((size, size, 3), np.uint8)
                for _ in range(4):
                    y, x = rng.integers(0, size - 4, size=2)
                    mask[y:y + 8, x:x + 8] = COLOURS[int(rng.integers(0, len(COLOURS)))]
                mask[0, 0] = OFF_PALETTE
                image = (mask // 2 + rng.integers(0, 60, size=mask.shape)).astype(np.uint8)
                stem = f"P{1000 * s + scene:04d}_{p * size}_{(p + 1) * size}_0_{size}"
                Image.fromarray(image).save(folder / f"{stem}.png")
                Image.fromarray(mask).save(folder / f"{stem}_instance_color_RGB.png")
    return root


if __name__ == "__main__":
    print(make(Path("isaid")))
