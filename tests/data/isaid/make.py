"""Fake iSAID: prepared patches in mmsegmentation's layout (``make``) or a raw release
(``make_raw``, whole scenes for ``rsbench data prepare isaid``).

    <root>/img_dir/{train,val}/P<scene>_<y0>_<y1>_<x0>_<x1>.png                      RGB
    <root>/ann_dir/{train,val}/P<scene>_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png   indices

    <raw>/{train,val}/images/P<scene>.png                                           RGB
    <raw>/{train,val}/Semantic_masks/images/P<scene>_instance_color_RGB.png         colours

Raw scenes follow formulas a test can redo by hand: ``scene_image`` encodes each pixel's row and
column, ``scene_classes`` cycles through the 16 classes in 4 px diagonal bands, and pixel (0, 0)
of every mask has an off-palette colour. Run as a script to write ``./isaid``.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.segmentation.isaid import ISAID_PALETTE

COLOURS = {index: colour for colour, index in ISAID_PALETTE.items()}
OFF_PALETTE = (10, 20, 30)


def scene_image(height: int, width: int) -> np.ndarray:
    """RGB ``[H, W, 3]``: R = row % 256, G = column % 256, B = 16 * (row // 256) + column // 256."""
    y, x = np.mgrid[:height, :width]
    return np.stack([y % 256, x % 256, (16 * (y // 256) + x // 256) % 256], -1).astype(np.uint8)


def scene_classes(height: int, width: int) -> np.ndarray:
    """Class indices ``[H, W]``: ``(row // 4 + column // 4) % 16``."""
    y, x = np.mgrid[:height, :width]
    return ((y // 4 + x // 4) % 16).astype(np.uint8)


def scene_mask(height: int, width: int) -> np.ndarray:
    """The colour mask of ``scene_classes``, with ``OFF_PALETTE`` at (0, 0)."""
    classes = scene_classes(height, width)
    mask = np.array([COLOURS[i] for i in range(16)], np.uint8)[classes]
    mask[0, 0] = OFF_PALETTE
    return mask


def make_raw(root: Path, sizes: dict[str, list[tuple[int, int]]] | None = None) -> Path:
    """Write whole raw scenes, ``{split: [(height, width), ...]}``, under ``root``; returns it.

    Scenes are named ``P<1000 * split index + n:04d>`` (train P0000.., val P1000..).
    """
    root = Path(root)
    sizes = sizes or {"train": [(70, 100), (40, 50)], "val": [(60, 60)]}
    for s, split in enumerate(("train", "val")):
        images = root / split / "images"
        masks = root / split / "Semantic_masks" / "images"
        images.mkdir(parents=True, exist_ok=True)
        masks.mkdir(parents=True, exist_ok=True)
        for n, (height, width) in enumerate(sizes.get(split, [])):
            scene = f"P{1000 * s + n:04d}"
            Image.fromarray(scene_image(height, width)).save(images / f"{scene}.png")
            Image.fromarray(scene_mask(height, width)).save(masks / f"{scene}_instance_color_RGB.png")
    return root


def make(root: Path, scenes: int = 3, patches: int = 2, size: int = 32, seed: int = 0) -> Path:
    """Write ``scenes`` x ``patches`` prepared patches per split under ``root``; returns ``root``.

    Labels are random class indices with pixel (0, 0) set to 255 (padding, ignored).
    """
    root = Path(root)
    for s, split in enumerate(("train", "val")):
        (root / "img_dir" / split).mkdir(parents=True, exist_ok=True)
        (root / "ann_dir" / split).mkdir(parents=True, exist_ok=True)
        for scene in range(scenes):
            for p in range(patches):
                rng = np.random.default_rng((seed, s, scene, p))
                label = rng.integers(0, 16, size=(size, size)).astype(np.uint8)
                label[0, 0] = 255
                image = rng.integers(0, 256, size=(size, size, 3)).astype(np.uint8)
                stem = f"P{1000 * s + scene:04d}_{p * size}_{(p + 1) * size}_0_{size}"
                Image.fromarray(image).save(root / "img_dir" / split / f"{stem}.png")
                Image.fromarray(label).save(root / "ann_dir" / split /
                                            f"{stem}_instance_color_RGB.png")
    return root


if __name__ == "__main__":
    print(make(Path("isaid")))
