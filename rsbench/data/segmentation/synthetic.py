"""Synthetic LoveDA in its real on-disk layout, for the offline demo and the tests.

Each image is a random polygon layout: a weighted Voronoi partition of 4-9 random sites, each
site one of the seven classes. Every class has its own colour and texture (stripe orientation and
frequency, or grain), so a pixel's class is learnable from its neighbourhood; colour jitter,
brightness and noise vary per image. About half the images carry a no-data corner (mask 0, black
pixels, as LoveDA's black borders). Test images have no masks, as in the real release.

Everything is drawn from ``numpy.random.default_rng((seed, split, index))`` and PNGs are written
without metadata at a fixed compression level: the same seed gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rsbench.data.segmentation.common import write_png

#: Per raw class value 1..7: (RGB colour in [0, 1], stripe angle in degrees, cycles per 64 px,
#: stripe contrast). Contrast 0 means fine grain noise instead of stripes.
CLASS_LOOKS = {
    1: ((0.55, 0.55, 0.50), 0.0, 0.0, 0.0),     # background: flat grey
    2: ((0.80, 0.35, 0.30), 0.0, 8.0, 0.25),    # building: red, horizontal stripes
    3: ((0.35, 0.35, 0.40), 90.0, 8.0, 0.25),   # road: dark, vertical stripes
    4: ((0.15, 0.30, 0.65), 0.0, 0.0, 0.0),     # water: flat blue
    5: ((0.75, 0.65, 0.45), 45.0, 6.0, 0.20),   # barren: sand, diagonal stripes
    6: ((0.10, 0.45, 0.15), 135.0, 10.0, 0.25),  # forest: dark green, anti-diagonal stripes
    7: ((0.55, 0.75, 0.25), 0.0, 4.0, 0.30),    # agriculture: light green, wide bands
}
SPLITS = {"Train": 0, "Val": 1, "Test": 2}
DOMAINS = ("Urban", "Rural")


def synthetic_pair(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One ``(RGB uint8 [size, size, 3], mask uint8 [size, size] in 0..7)`` pair."""
    n_sites = int(rng.integers(4, 10))
    sites = rng.uniform(0, size, size=(n_sites, 2))
    weights = rng.uniform(0, (size / 4) ** 2, size=n_sites)
    labels = rng.integers(1, 8, size=n_sites)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dist = (yy[None] - sites[:, 0, None, None]) ** 2 + (xx[None] - sites[:, 1, None, None]) ** 2
    mask = labels[np.argmin(dist - weights[:, None, None], axis=0)].astype(np.uint8)
    img = np.zeros((size, size, 3), np.float32)
    shift = rng.uniform(-0.04, 0.04, size=3)
    for k, (colour, angle, cycles, contrast) in CLASS_LOOKS.items():
        where = mask == k
        if not where.any():
            continue
        theta = np.deg2rad(angle)
        u = (xx * np.cos(theta) + yy * np.sin(theta)) / 64.0
        if contrast:
            tex = contrast * np.sin(2 * np.pi * cycles * u + rng.uniform(0, 2 * np.pi))
        else:
            tex = np.zeros_like(u)
        layer = np.asarray(colour, np.float32) + shift + tex[..., None]
        img[where] = layer[where]
    img = img * rng.uniform(0.9, 1.1) + rng.normal(0.0, 0.03, size=img.shape)
    if rng.random() < 0.5:  # a no-data corner
        h, w = (int(v) for v in rng.integers(size // 8, size // 3 + 1, size=2))
        rows = slice(0, h) if rng.random() < 0.5 else slice(size - h, size)
        cols = slice(0, w) if rng.random() < 0.5 else slice(size - w, size)
        mask[rows, cols] = 0
        img[rows, cols] = 0.0
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), mask


def make_synthetic_loveda(root: Path, n_per_split: int, size: int, seed: int) -> Path:
    """Write a learnable synthetic LoveDA under ``root`` (``root`` is the dataset folder, e.g.
    ``<data_root>/loveda``); same seed, same bytes.

    Writes ``root/{Train,Val,Test}/{Urban,Rural}/images_png/<id>.png`` (RGB) and, for Train and
    Val, ``.../masks_png/<id>.png`` (mode L, 0 = no-data, 1..7 classes). ``n_per_split`` images
    per split, the first half Urban, the rest Rural; ids are unique across the dataset.

    Returns:
        ``root``.
    """
    root = Path(root)
    next_id = 0
    for split, split_code in SPLITS.items():
        for i in range(n_per_split):
            domain = DOMAINS[0] if i < (n_per_split + 1) // 2 else DOMAINS[1]
            rng = np.random.default_rng((seed, split_code, i))
            image, mask = synthetic_pair(size, rng)
            folder = root / split / domain
            write_png(folder / "images_png" / f"{next_id}.png", image)
            if split != "Test":
                write_png(folder / "masks_png" / f"{next_id}.png", mask)
            next_id += 1
    return root
