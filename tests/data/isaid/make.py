"""Fake iSAID: prepared patches in the iSAID devkit's layout (``make``) or a raw release
(``make_raw``, whole scenes for ``rsbench data prepare isaid``).

    <root>/{train,val}/images/P<scene>_<y0>_<y1>_<x0>_<x1>.png                      RGB
    <root>/{train,val}/images/P<scene>_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png   colours

    <raw>/{train,val}/images/P<scene>.png                                           RGB
    <raw>/{train,val}/Semantic_masks/images/P<scene>_instance_color_RGB.png         colours

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


def make_raw(root: Path, sizes: dict[str, list[tuple[int, int]]] | None = None,
             seed: int = 0) -> Path:
    """Write whole raw scenes, ``{split: [(height, width), ...]}``, under ``root``; returns it.

    Scenes are named ``P<1000 * split index + n:04d>``; images are RGB noise over the mask.
    """
    root = Path(root)
    sizes = sizes or {"train": [(70, 100), (40, 50)], "val": [(60, 60)]}
    for s, split in enumerate(("train", "val")):
        images = root / split / "images"
        masks = root / split / "Semantic_masks" / "images"
        images.mkdir(parents=True, exist_ok=True)
        masks.mkdir(parents=True, exist_ok=True)
        for n, (height, width) in enumerate(sizes.get(split, [])):
            rng = np.random.default_rng((seed, s, n))
            mask = np.zeros((height, width, 3), np.uint8)
            for _ in range(6):
                y, x = rng.integers(0, max(1, height - 4)), rng.integers(0, max(1, width - 4))
                mask[y:y + 12, x:x + 12] = COLOURS[int(rng.integers(0, len(COLOURS)))]
            mask[0, 0] = OFF_PALETTE
            image = (mask // 2 + rng.integers(0, 60, size=mask.shape)).astype(np.uint8)
            scene = f"P{1000 * s + n:04d}"
            Image.fromarray(image).save(images / f"{scene}.png")
            Image.fromarray(mask).save(masks / f"{scene}_instance_color_RGB.png")
    return root


if __name__ == "__main__":
    print(make(Path("isaid")))
