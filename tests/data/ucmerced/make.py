"""Fake UC Merced in its real layout (as torchgeo 0.8 downloads and extracts it).

    <root>/UCMerced_LandUse/Images/<class>/<class>NN.tif    21 classes, RGB uint8 TIFF
    <root>/uc_merced-{train,val,test}.txt                    60/20/20 per class, file names

The shipped synthetic generator already writes exactly this layout, so it is reused here.
Run as a script to write ``./ucmerced`` with 3 images per class.
"""

from pathlib import Path

from rsbench.data.synthetic import make_synthetic_ucmerced


def make(root: Path, n_per_class: int = 3, size: int = 16, seed: int = 0) -> Path:
    """Write the fake dataset under ``root``; same seed, same bytes. Returns ``root``."""
    return make_synthetic_ucmerced(Path(root), n_per_class, size, seed)


if __name__ == "__main__":
    print(make(Path("ucmerced")))
