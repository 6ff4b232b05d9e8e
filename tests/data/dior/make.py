"""Fake DIOR in its real layout (the official release), via ``make_synthetic_dior``.

    <root>/JPEGImages-trainval/<id>.jpg, <root>/JPEGImages-test/<id>.jpg
    <root>/Annotations/Horizontal Bounding Boxes/<id>.xml   (flat=True: <root>/Annotations/<id>.xml,
                                                             the first release's layout)
    <root>/ImageSets/Main/{train,val,test}.txt

Run as a script to write ``./dior``.
"""

import shutil
from pathlib import Path

from rsbench.data.detection import make_synthetic_dior


def make(root: Path, n_per_split: int = 6, size: int = 64, seed: int = 0,
         flat: bool = False) -> Path:
    """Write the fake dataset under ``root`` (a folder named ``dior``); returns ``root``."""
    root = make_synthetic_dior(Path(root), n_per_split, size, seed)
    if flat:
        nested = root / "Annotations" / "Horizontal Bounding Boxes"
        for xml in sorted(nested.glob("*.xml")):
            xml.rename(root / "Annotations" / xml.name)
        shutil.rmtree(nested)
    return root


if __name__ == "__main__":
    print(make(Path("dior")))
