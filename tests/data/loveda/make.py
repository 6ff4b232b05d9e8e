"""Fake LoveDA in its real layout (as torchgeo 0.8 extracts Train.zip / Val.zip / Test.zip).

    <root>/{Train,Val,Test}/{Urban,Rural}/images_png/<id>.png    RGB
    <root>/{Train,Val}/{Urban,Rural}/masks_png/<id>.png          mode L, 0 no-data, 1..7

The shipped synthetic generator writes exactly this layout, so it is reused here.
Run as a script to write ``./loveda`` with 4 images per split.
"""

from pathlib import Path

from rsbench.data.segmentation import make_synthetic_loveda


def make(root: Path, n_per_split: int = 4, size: int = 32, seed: int = 0) -> Path:
    """Write the fake dataset under ``root`` (the ``loveda`` folder); returns ``root``."""
    return make_synthetic_loveda(Path(root), n_per_split, size, seed)


if __name__ == "__main__":
    print(make(Path("loveda")))
