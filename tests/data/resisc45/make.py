"""Fake NWPU-RESISC45 in its real layout (as torchgeo 0.8 downloads and extracts it).

    <root>/NWPU-RESISC45/<class>/<class>_NNN.jpg    45 classes, RGB JPEG, NNN from 001
    <root>/resisc45-{train,val,test}.txt             60/20/20 per class, file names

Run as a script to write ``./resisc45`` with 3 images per class.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.resisc45 import RESISC45Adapter


def split_of(i: int, n: int) -> str:
    """60/20/20 by index: the last fifth is test, the fifth before it val (>= 1 each for n >= 3)."""
    k = max(1, round(0.2 * n))
    return "test" if i >= n - k else "val" if i >= n - 2 * k else "train"


def make(root: Path, n_per_class: int = 3, size: int = 16, seed: int = 0) -> Path:
    """Write the fake dataset under ``root``; same seed, same bytes. Returns ``root``."""
    root = Path(root)
    lists: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for k, cls in enumerate(sorted(RESISC45Adapter.classes)):
        folder = root / "NWPU-RESISC45" / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            rng = np.random.default_rng((seed, k, i))
            pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
            name = f"{cls}_{i + 1:03d}.jpg"
            Image.fromarray(pixels).save(folder / name, quality=95)
            lists[split_of(i, n_per_class)].append(name)
    for split, names in lists.items():
        (root / f"resisc45-{split}.txt").write_text("".join(f"{n}\n" for n in names))
    return root


if __name__ == "__main__":
    print(make(Path("resisc45")))
