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
