"""Fake So2Sat LCZ42 version 2 in its real layout (the three HDF5 files torchgeo 0.8 reads).

    <root>/training.h5, validation.h5, testing.h5   each: sen1 [N, 32, 32, 8] float64,
        sen2 [N, 32, 32, 10] float64, label [N, 17] float64 one-hot

Labels are hand-chosen (:data:`LABELS`: class indices per file, some classes in no file).
Sentinel-2 values are drawn in [0, 1.2) so the reflectance clip at 1.0 is exercised; Sentinel-1
values are signed (the complex channels) and small positive (the intensities), as in the release.
Run as a script to write ``./so2sat``.
"""

from pathlib import Path

import numpy as np

#: File -> the class index of each row, in row order.
LABELS = {
    "training.h5": [0, 2, 2, 9, 10, 13, 16, 5],
    "validation.h5": [2, 10, 16],
    "testing.h5": [13, 0, 16, 10, 4],
}


def make(root: Path, size: int = 32, seed: int = 0) -> Path:
    """Write the fake dataset under ``root``; same seed, same values. Returns ``root``."""
    import h5py

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, labels in LABELS.items():
        n = len(labels)
        onehot = np.zeros((n, 17), dtype=np.float64)
        onehot[np.arange(n), labels] = 1.0
        # Rows of one class share a level, so a frozen-feature kNN has something to find.
        level = np.asarray(labels, dtype=np.float64)[:, None, None, None] / 40.0
        sen2 = level + rng.uniform(0.0, 0.8, size=(n, size, size, 10))
        sen1 = rng.normal(0.0, 0.1, size=(n, size, size, 8))
        sen1[..., 4:6] = np.abs(sen1[..., 4:6]) + level[..., 0, None]
        with h5py.File(root / name, "w") as h5:
            h5.create_dataset("sen1", data=sen1)
            h5.create_dataset("sen2", data=sen2)
            h5.create_dataset("label", data=onehot)
    return root


if __name__ == "__main__":
    print(make(Path("so2sat")))
