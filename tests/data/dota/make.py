"""Fake DOTA v1.0 raw release in its real layout (train and val, PNG + labelTxt).

    <src>/{train,val}/images/P<id>.png
    <src>/{train,val}/labelTxt/P<id>.txt     imagesource/gsd header, then
                                             ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult``

Each image holds a few filled quadrilaterals (axis-aligned or rotated by 45 degrees) whose
label lines are their corner polygons; one object per image is difficult. Run as a script to
write ``./dota_raw``.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from rsbench.data.detection import DOTA_CLASSES

SIZES = {"train": ((150, 130), (90, 100), (120, 70)), "val": ((110, 140), (80, 80))}


def fake_image(width: int, height: int, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """``(RGB image, label file text)``."""
    img = Image.fromarray(rng.integers(60, 120, size=(height, width, 3), dtype=np.uint8))
    draw = ImageDraw.Draw(img)
    lines = ["imagesource:GoogleEarth", "gsd:0.146343590398"]
    for i in range(int(rng.integers(2, 6))):
        cx, cy = float(rng.integers(10, width - 10)), float(rng.integers(10, height - 10))
        r = float(rng.integers(4, 14))
        if i % 2:
            poly = [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
        else:
            poly = [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
        k = int(rng.integers(0, len(DOTA_CLASSES)))
        draw.polygon(poly, fill=tuple(int(v) for v in rng.integers(130, 256, size=3)))
        coords = " ".join(f"{x:.1f} {y:.1f}" for x, y in poly)
        lines.append(f"{coords} {DOTA_CLASSES[k]} {int(i == 0)}")
    return img, "\n".join(lines) + "\n"


def make(src: Path, seed: int = 0) -> Path:
    """Write the fake raw release under ``src``; returns ``src``."""
    src = Path(src)
    n = 0
    for split, sizes in SIZES.items():
        (src / split / "images").mkdir(parents=True, exist_ok=True)
        (src / split / "labelTxt").mkdir(parents=True, exist_ok=True)
        for width, height in sizes:
            img, text = fake_image(width, height, np.random.default_rng((seed, n)))
            img.save(src / split / "images" / f"P{n:04d}.png")
            (src / split / "labelTxt" / f"P{n:04d}.txt").write_text(text)
            n += 1
    return src


if __name__ == "__main__":
    print(make(Path("dota_raw")))


#: Hand-made objects for the devkit / mmrotate rules (label lines of a 1300 x 900 image, the
#: tiles at x = 0 and 276 with subsize 1024 and gap 200; the expected per-tile lines are in
#: tests/detection/test_dota_devkit.py and test_dota_mmrotate.py).
HAND_P0001 = [
    "1000 100 1100 100 1100 150 1000 150 plane 0",       # 0.24 in tile 0: clipped, 4 corners
    "953 200 1053 200 1053 210 953 210 ship 1",          # 0.71 visible in tile 0
    "954 220 1054 220 1054 230 954 230 ship 0",          # exactly 0.70
    "955 240 1055 240 1055 250 955 250 ship 0",          # 0.69
    "1060 450 1110 500 1060 550 1010 500 harbor 0",      # tile 0 keeps a triangle: 3 corners
    "1000 260 1040 300 1000 340 960 300 bridge 0",       # cut at x = 1024: 5 corners
    "990 820 1045 870 990 920 940 870 tennis-court 0",   # cut at the tile corner: 6 corners
    "1280 600 1300 600 1300 620 1280 620 plane 0",       # last column: clipped at W - 1
    "250 700 300 700 300 720 250 720 small-vehicle 0",   # tile 276's left edge: clamp to 1
    "0 10 30 10 30 40 0 40 large-vehicle 0",             # inside tile 0 at x = 0: kept as is
    "100.7 500.2 140.9 500.2 140.9 530.8 100.7 530.8 helicopter 1",  # read as integers
    "10 10 20 20 30 30 40 40 plane 0",                   # zero area: never written
]
#: A 700 x 500 image: one tile, padded to 1024; its last column and row end at 699 / 499.
HAND_P0002 = [
    "680 100 700 100 700 120 680 120 plane 0",
    "300 480 340 480 340 500 300 500 ship 0",
]


def make_hand(src: Path, seed: int = 0) -> Path:
    """Write the hand-made raw release (train: P0001 1300 x 900; val: P0002 700 x 500)."""
    src = Path(src)
    rng = np.random.default_rng(seed)
    for split, stem, (width, height), lines in (("train", "P0001", (1300, 900), HAND_P0001),
                                                ("val", "P0002", (700, 500), HAND_P0002)):
        (src / split / "images").mkdir(parents=True, exist_ok=True)
        (src / split / "labelTxt").mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(src / split / "images" / f"{stem}.png")
        text = "imagesource:GoogleEarth\ngsd:0.146343590398\n" + "\n".join(lines) + "\n"
        (src / split / "labelTxt" / f"{stem}.txt").write_text(text)
    return src
