"""Synthetic LoveDA in its real on-disk layout, for the offline demo and the tests.

Each image is a random polygon layout: a weighted Voronoi partition of 4-9 random sites, each
site one of the seven classes. Every class has its own colour and texture (stripe orientation and
frequency, or grain), so a pixel's class is learnable from its neighbourhood; colour jitter,
brightness and noise vary per image. About half the images carry a no-data corner (mask 0, black
pixels, as LoveDA's black borders). Test images have no masks, as in the real release.

``classes_by="texture"`` instead fills each region with the UC Merced-style scene texture of
:mod:`rsbench.data.synthetic` (class ``c`` is stripe orientation and frequency number ``c - 1``)
in a palette drawn per image and class, over 2-4 larger regions: colour then says nothing about
the class, so only an encoder that has learnt those textures gives the decoder what it needs.

Everything is drawn from ``numpy.random.default_rng((seed, split, index))`` and PNGs are written
without metadata at a fixed compression level: the same seed gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rsbench.data.segmentation.common import write_png
from rsbench.data.synthetic import CYCLES, ORIENTATIONS_DEG, synthetic_image

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


def region_mask(size: int, rng: np.random.Generator, sites: tuple[int, int]) -> np.ndarray:
    """A uint8 ``[size, size]`` mask in 1..7: a weighted Voronoi partition of ``sites[0]`` to
    ``sites[1] - 1`` random sites, each of a random class."""
    n_sites = int(rng.integers(*sites))
    centres = rng.uniform(0, size, size=(n_sites, 2))
    weights = rng.uniform(0, (size / 4) ** 2, size=n_sites)
    labels = rng.integers(1, 8, size=n_sites)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dist = (yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2
    return labels[np.argmin(dist - weights[:, None, None], axis=0)].astype(np.uint8)


def add_nodata_corner(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Black out a random corner of about half the images and mark it no-data (0), in place."""
    size = mask.shape[0]
    if rng.random() < 0.5:
        h, w = (int(v) for v in rng.integers(size // 8, size // 3 + 1, size=2))
        rows = slice(0, h) if rng.random() < 0.5 else slice(size - h, size)
        cols = slice(0, w) if rng.random() < 0.5 else slice(size - w, size)
        mask[rows, cols] = 0
        img[rows, cols] = 0.0


def synthetic_pair(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One ``(RGB uint8 [size, size, 3], mask uint8 [size, size] in 0..7)`` pair."""
    mask = region_mask(size, rng, (4, 10))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img: np.ndarray = np.zeros((size, size, 3), np.float32)
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
    add_nodata_corner(img, mask, rng)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), mask


def texture_pair(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`synthetic_pair`, but class ``c`` is UC Merced-style texture ``c - 1`` (stripe
    orientation and frequency) in palette 0 or 1, drawn per image and class."""
    mask = region_mask(size, rng, (2, 5))
    img: np.ndarray = np.zeros((size, size, 3), np.float32)
    for k in range(1, 8):
        where = mask == k
        if where.any():
            # Scene classes k-1 and k+7 share orientation and frequency, not palette.
            scene = (k - 1) + len(ORIENTATIONS_DEG) * len(CYCLES) * int(rng.integers(0, 2))
            img[where] = synthetic_image(scene, size, rng)[where] / 255.0
    add_nodata_corner(img, mask, rng)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), mask


#: ``classes_by`` -> the function that draws one image-mask pair.
PAIRS = {"colour": synthetic_pair, "texture": texture_pair}


def make_synthetic_loveda(root: Path, n_per_split: int, size: int, seed: int,
                          classes_by: str = "colour") -> Path:
    """Write a learnable synthetic LoveDA under ``root`` (``root`` is the dataset folder, e.g.
    ``<data_root>/loveda``); same seed, same bytes.

    Writes ``root/{Train,Val,Test}/{Urban,Rural}/images_png/<id>.png`` (RGB) and, for Train and
    Val, ``.../masks_png/<id>.png`` (mode L, 0 = no-data, 1..7 classes). ``n_per_split`` images
    per split, the first half Urban, the rest Rural; ids are unique across the dataset.
    ``classes_by`` is ``"colour"`` (each class its own colour and texture) or ``"texture"``
    (UC Merced-style textures in palettes unrelated to the class; see the module docstring).

    Returns:
        ``root``.
    """
    if classes_by not in PAIRS:
        raise ValueError(f"classes_by {classes_by!r}: use one of {sorted(PAIRS)}")
    root = Path(root)
    next_id = 0
    for split, split_code in SPLITS.items():
        for i in range(n_per_split):
            domain = DOMAINS[0] if i < (n_per_split + 1) // 2 else DOMAINS[1]
            rng = np.random.default_rng((seed, split_code, i))
            image, mask = PAIRS[classes_by](size, rng)
            folder = root / split / domain
            write_png(folder / "images_png" / f"{next_id}.png", image)
            if split != "Test":
                write_png(folder / "masks_png" / f"{next_id}.png", mask)
            next_id += 1
    return root
