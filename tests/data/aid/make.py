"""Fake AID in its real layout (as the official archive extracts).

    <root>/AID/<Class>/<class>_N.jpg    30 classes, RGB JPEG, e.g. AID/Airport/airport_1.jpg

AID has no split files. Run as a script to write ``./aid`` with 3 images per class.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.aid import AIDAdapter


def make(root: Path, n_per_class: int = 3, size: int = 16, seed: int = 0) -> Path:
    """Write the fake dataset under ``root``; same seed, same bytes. Returns ``root``."""
    root = Path(root)
    for k, cls in enumerate(sorted(AIDAdapter.classes)):
        folder = root / "AID" / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            rng = np.random.default_rng((seed, k, i))
            pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{cls.lower()}_{i + 1}.jpg", quality=95)
    return root


if __name__ == "__main__":
    print(make(Path("aid")))
