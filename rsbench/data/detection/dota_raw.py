"""The raw DOTA v1.0 release on disk: which layouts are accepted, label lines, image pixels.

Accepted under ``src`` for each of ``train`` and ``val`` (images always ``<split>/images/*.png``;
polygon labels, first found wins)::

    <split>/labelTxt/P*.txt                     the devkit's layout (its ``basepath``)
    <split>/labelTxt-v1.0/labelTxt/P*.txt       the official v1.0 label archive, as extracted
    <split>/annotations/version1.0/P*.txt       torchgeo's ``DOTA(version="1.0")`` download

Refused with a one-line error saying what differs: horizontal-box labels alone
(``*Task2_gt*`` / ``*reclabelTxt*``: both preparations cut the polygons and the boxes follow
from them), DOTA v1.5 / v2.0 labels alone (other class lists), images one folder too deep
(``images/images``, an archive extracted inside ``images``), an image without its label file.

Label lines are read as both references read them: the ``imagesource:`` / ``gsd:`` header
and blank lines are skipped; ``x1 y1 ... y4 class [difficult]``, a missing difficulty reading
as ``0``. The references also skip any other line of fewer than 9 fields; here such a line
(e.g. the last line of a truncated download) is an error naming the file and the line, since
skipping it would drop an object without a word. Pixels are decoded as ``cv2.imread(path)`` does for 8-bit images
(RGB kept, alpha dropped, grey replicated); a truncated or corrupt image is an error naming it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.errors import DataError, DatasetNotFound
from rsbench.errors import RsbenchError

RAW_SPLITS = ("train", "val")
LABEL_DIRS = ("labelTxt", "labelTxt-v1.0/labelTxt", "annotations/version1.0")
OTHER_VERSIONS = ("labelTxt-v1.5", "labelTxt-v2.0", "annotations/version1.5",
                  "annotations/version2.0")
#: PIL modes whose RGB conversion equals OpenCV's 8-bit colour decoding.
EIGHT_BIT_MODES = ("RGB", "RGBA", "L", "LA", "P", "PA", "RGBX")
RawObject = tuple[tuple[float, ...], str, str]
"""One label line: ``(8 coordinates as read, class name, difficulty token)``."""
Image.MAX_IMAGE_PIXELS = None  # DOTA images are large but trusted local files


class UnreadableImage(RsbenchError, ValueError):
    """A raw image that cannot be decoded (truncated download, corrupt file, 16-bit PNG)."""


def parse_raw_objects(text: str, where: str = "label file") -> list[RawObject]:
    """The objects of a DOTA label file, in file order (see the module docstring).

    Raises:
        DataError: a line that is neither a header nor a whole object line.
    """
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0].split(":")[0].lower() in ("imagesource", "gsd"):
            continue
        try:
            if len(parts) < 9:
                raise ValueError(f"{len(parts)} fields, an object line has 9 or 10")
            out.append((tuple(float(v) for v in parts[:8]), parts[8],
                        parts[9] if len(parts) > 9 else "0"))
        except ValueError as err:
            raise DataError(f"{where}: line {number} is not a DOTA object line ({err}): "
                            f"{line.strip()[:80]!r}; the file is truncated or damaged, "
                            "download or extract it again") from None
    return out


def read_rgb(path: Path) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB pixels of a raw image.

    Raises:
        UnreadableImage: the file is truncated or corrupt, or not an 8-bit image.
    """
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode not in EIGHT_BIT_MODES:
                raise UnreadableImage(f"{path}: mode {img.mode} is not an 8-bit image; the DOTA "
                                      f"v1.0 archives hold 8-bit RGB or grey PNGs")
            return np.asarray(img.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, UnreadableImage):
            raise
        raise UnreadableImage(f"{path}: cannot decode the image ({err}); the file is truncated "
                              f"or corrupt: extract it again from the DOTA archive") from None


def label_dir(src: Path, split: str) -> Path:
    """The polygon-label folder of ``split``.

    Raises:
        DatasetNotFound: none of the accepted folders exists; says what was found instead.
    """
    base = src / split
    for rel in LABEL_DIRS:
        if (base / rel).is_dir():
            return base / rel
    expected = (f"{split}/labelTxt/P*.txt, {split}/labelTxt-v1.0/labelTxt/P*.txt or "
                f"{split}/annotations/version1.0/P*.txt")
    hbb = sorted(p for pattern in ("**/*Task2_gt*", "**/*reclabelTxt*") for p in base.glob(pattern)
                 if p.is_dir())
    if hbb:
        raise DatasetNotFound(f"raw DOTA v1.0 {split} under {src} has horizontal-box labels only "
                              f"({hbb[0].relative_to(src)}); preparation cuts the polygon labels: "
                              f"extract the v1.0 labelTxt archive so that {expected} exists")
    other = [rel for rel in OTHER_VERSIONS if (base / rel).is_dir()]
    if other:
        raise DatasetNotFound(f"raw DOTA {split} under {src} has {other[0]} labels, not v1.0 "
                              f"(other classes): need {expected}")
    raise DatasetNotFound(f"raw DOTA v1.0 {split} labels not found under {src}: expected "
                          f"{expected}; download DOTA v1.0 train and val from "
                          f"https://captain-whu.github.io/DOTA/dataset.html")


def raw_dota_files(src: Path) -> list[tuple[str, Path, Path]]:
    """``(split, image, label)`` for every raw train and val image, in split then name order.

    Raises:
        DatasetNotFound: a folder or label file is missing (one line: what and where).
    """
    out = []
    for split in RAW_SPLITS:
        images = sorted((src / split / "images").glob("*.png"))
        if not images:
            nested = sorted((src / split / "images").glob("*/*.png"))
            hint = (f" (found {nested[0].relative_to(src)}: an archive extracted one folder too "
                    f"deep; move its PNGs up into {split}/images)") if nested else ""
            raise DatasetNotFound(f"raw DOTA v1.0 {split} images not found under {src}: expected "
                                  f"{split}/images/P*.png{hint}")
        labels = label_dir(src, split)
        for image in images:
            label = labels / f"{image.stem}.txt"
            if not label.is_file():
                raise DatasetNotFound(f"raw DOTA v1.0 is incomplete under {src}: no label "
                                      f"{label.relative_to(src)} for {image.relative_to(src)} "
                                      f"(v1.0 has P0000-P2805; remove images of other versions)")
            out.append((split, image, label))
    return out
