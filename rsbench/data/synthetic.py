"""Synthetic scenes in UC Merced's real on-disk layout, for the offline demo and the tests.

Each of the 21 classes is a distinct combination of three structural factors: stripe
orientation (0, 45, 90, 135 degrees), stripe frequency (3 or 7 cycles per image) and a
palette-with-blobs variant (green fields, grey town with bright blobs, blue water with dark
blobs). Up to eight classes share each palette, so mean colour alone cannot tell them apart;
orientation and frequency must be seen. Every image draws its own phase, orientation and
frequency jitter, colour shift, brightness, blob positions and pixel noise, so no two images
are alike and the task is not trivial.

Everything is drawn from ``numpy.random.default_rng((seed, class, image))``, and Pillow writes
TIFFs without timestamps: the same seed gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.ucmerced import UCMercedAdapter

ORIENTATIONS_DEG = (0.0, 45.0, 90.0, 135.0)
CYCLES = (3.0, 7.0)
#: (dark colour, light colour, blob contrast) per variant; RGB in [0, 1].
VARIANTS = (
    ((0.25, 0.40, 0.15), (0.55, 0.65, 0.30), 0.0),
    ((0.35, 0.35, 0.38), (0.65, 0.63, 0.60), 0.35),
    ((0.10, 0.25, 0.45), (0.70, 0.65, 0.50), -0.35),
)


def class_factors(k: int) -> tuple[float, float, int]:
    """``(orientation in degrees, cycles per image, variant)`` of class index ``k`` (0..20).

    A mixed-radix reading of ``k`` (4 x 2 x 3 = 24 > 21 combinations), so classes never collide.
    """
    return ORIENTATIONS_DEG[k % 4], CYCLES[(k // 4) % 2], k // 8


def synthetic_image(k: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One ``size`` x ``size`` RGB uint8 image of class ``k``."""
    angle, cycles, variant = class_factors(k)
    dark, light, blob = VARIANTS[variant]
    theta = np.deg2rad(angle + rng.uniform(-8.0, 8.0))
    freq = cycles * rng.uniform(0.9, 1.1)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    u = xx * np.cos(theta) + yy * np.sin(theta)
    # tanh sharpens the sine into field-like bands without aliasing at small sizes.
    stripes = 0.5 + 0.5 * np.tanh(2.5 * np.sin(2 * np.pi * freq * u + rng.uniform(0, 2 * np.pi)))
    shift = rng.uniform(-0.06, 0.06, size=3)
    dark_c = np.asarray(dark) + shift
    light_c = np.asarray(light) + shift
    img = dark_c + stripes[..., None] * (light_c - dark_c)
    if blob:
        field = np.zeros((size, size), np.float32)
        radius = rng.uniform(0.06, 0.09)
        for cy, cx in rng.uniform(0.1, 0.9, size=(int(rng.integers(3, 6)), 2)):
            field += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
        img = img + blob * np.clip(field, 0, 1)[..., None]
    img = img * rng.uniform(0.85, 1.15) + rng.normal(0.0, 0.05, size=img.shape)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def official_split(n: int) -> dict[str, range]:
    """Index ranges of a 60/20/20 split of ``n`` images (at least one each when ``n >= 3``)."""
    n_val = max(1, round(0.2 * n)) if n >= 3 else 0
    n_test = max(1, round(0.2 * n)) if n >= 3 else 0
    n_train = n - n_val - n_test
    return {"train": range(n_train), "val": range(n_train, n_train + n_val),
            "test": range(n_train + n_val, n)}


def make_synthetic_ucmerced(root: Path, n_per_class: int, size: int, seed: int) -> Path:
    """Write a learnable synthetic dataset in UC Merced's on-disk layout under ``root``.

    Writes ``root/UCMerced_LandUse/Images/<class>/<class>NN.tif`` (21 real class names, RGB
    uint8 TIFF) and torchgeo's split files ``root/uc_merced-{train,val,test}.txt`` (60/20/20
    per class), so both rsbench and ``torchgeo.datasets.UCMerced`` read it as the real thing.

    Args:
        root: the dataset root (callers pass ``<data_root>/ucmerced``).
        n_per_class: images per class (the real dataset has 100; >= 3 for the official split).
        size: image height and width in pixels (the real dataset has 256).
        seed: the same seed gives byte-identical files.

    Returns:
        ``root``.
    """
    root = Path(root)
    images = root / UCMercedAdapter.image_dirs[0]
    lists: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for k, cls in enumerate(UCMercedAdapter().sorted_classes()):
        folder = images / cls
        folder.mkdir(parents=True, exist_ok=True)
        names = [f"{cls}{i:02d}.tif" for i in range(n_per_class)]
        for i, name in enumerate(names):
            rng = np.random.default_rng((seed, k, i))
            Image.fromarray(synthetic_image(k, size, rng)).save(folder / name)
        for split, idx in official_split(n_per_class).items():
            lists[split] += [names[i] for i in idx]
    for split, names in lists.items():
        filename = UCMercedAdapter.split_filenames["torchgeo"][split]
        (root / filename).write_text("".join(f"{n}\n" for n in names))
    return root
