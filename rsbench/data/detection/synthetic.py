"""Synthetic DIOR in its real on-disk layout, for the offline demo and the tests.

Each image is a textured background (grey-brown, low-contrast stripes and grain) with 1-4
non-overlapping objects. Class ``k`` is a shape (``k % 4``: rectangle, ellipse, triangle, cross)
filled with its own colour (hue ``k / 20``), so a detector can learn every class; about one
object in seven is marked ``<difficult>1</difficult>``. Boxes are the shape's pixel extent,
written as VOC 1-based inclusive indices (``xmin = x0 + 1``, ``xmax = x1`` for pixels
``x0..x1-1``), which the reader turns back into ``[x0, x1)``.

``classes_by="texture"`` instead draws 1-3 larger rectangles of the first eight classes, class
``k`` filled with the UC Merced-style scene texture ``k`` of :mod:`rsbench.data.synthetic` (stripe
orientation and frequency, at that module's 64 px scale) in palette 0 or 1 drawn per object,
on a stripeless ground: neither shape nor colour tells the classes apart, only the texture an
encoder has learnt.

Everything is drawn from ``numpy.random.default_rng((seed, split, index))``; JPEGs are written
at a fixed quality without metadata and XML as fixed text, so the same seed gives the same bytes
(with the same Pillow / libjpeg build).
"""

from __future__ import annotations

import colorsys
import io
from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.detection.dior import DIOR_CLASSES
from rsbench.data.synthetic import CYCLES, ORIENTATIONS_DEG
from rsbench.data.synthetic import synthetic_image as scene_image

SPLITS = ("train", "val", "test")
ANN_DIR = "Annotations/Horizontal Bounding Boxes"
DIFFICULT_RATE = 0.15
#: Texture classes (4 stripe orientations x 2 frequencies) and the side their scale is set at.
N_TEXTURES = len(ORIENTATIONS_DEG) * len(CYCLES)
TEXTURE_SIZE = 64


def class_colour(k: int) -> np.ndarray:
    """RGB in [0, 1] of class ``k``: evenly spaced hues, alternating brightness."""
    return np.asarray(colorsys.hsv_to_rgb(k / len(DIOR_CLASSES), 0.9, 1.0 if k % 2 else 0.75))


def shape_mask(kind: int, h: int, w: int) -> np.ndarray:
    """A boolean ``[h, w]`` mask of shape ``kind`` (0 rect, 1 ellipse, 2 triangle, 3 cross)
    touching all four sides of its box."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = (xx + 0.5) / w, (yy + 0.5) / h
    if kind == 0:
        mask = np.ones((h, w), bool)
    elif kind == 1:
        mask = (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
        mask[h // 2, :] = True
        mask[:, w // 2] = True
    elif kind == 2:
        mask = np.abs(u - 0.5) <= v / 2 + 1.0 / w
    else:
        mask = (np.abs(u - 0.5) <= 0.17) | (np.abs(v - 0.5) <= 0.17)
        mask[:, w // 2] = True
        mask[h // 2, :] = True
    return mask


def place_objects(size: int, rng: np.random.Generator, n_classes: int = len(DIOR_CLASSES),
                  count: tuple[int, int] = (1, 5), sides: tuple[int, int] | None = None,
                  ) -> list[tuple[int, int, int, int, int]]:
    """``(class, x0, y0, x1, y1)`` of ``count[0]`` to ``count[1] - 1`` non-overlapping objects
    (half-open pixel boxes) of classes ``0..n_classes-1``, sides in ``[sides[0], sides[1]]``
    (default ``size // 8`` (at least 6) to ``size // 3``)."""
    lo, hi = sides or (max(6, size // 8), size // 3)
    out: list[tuple[int, int, int, int, int]] = []
    for _ in range(int(rng.integers(*count))):
        for _try in range(20):
            w, h = (int(v) for v in rng.integers(lo, hi + 1, size=2))
            x0, y0 = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
            box = (x0, y0, x0 + w, y0 + h)
            if all(box[2] <= b[1] or b[3] <= box[0] or box[3] <= b[2] or b[4] <= box[1]
                   for b in out):
                out.append((int(rng.integers(0, n_classes)), *box))
                break
    return out


def background(size: int, rng: np.random.Generator, stripes: bool = True) -> np.ndarray:
    """A float ``[size, size, 3]`` grey-brown ground with grain and, if ``stripes``, faint
    stripes."""
    waves = np.zeros((size, size), np.float32)
    if stripes:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        angle = rng.uniform(0, np.pi)
        waves = 0.05 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / 16.0)
    base = np.asarray([0.45, 0.42, 0.36]) + rng.uniform(-0.05, 0.05, size=3)
    return base + waves[..., None] + rng.normal(0, 0.03, size=(size, size, 3))


def synthetic_image(size: int, rng: np.random.Generator) -> tuple[np.ndarray, list, list]:
    """``(RGB uint8 [size, size, 3], objects, difficult flags)``; see :func:`place_objects`."""
    img = background(size, rng)
    objects = place_objects(size, rng)
    for k, x0, y0, x1, y1 in objects:
        mask = shape_mask(k % 4, y1 - y0, x1 - x0)
        colour = class_colour(k) * rng.uniform(0.9, 1.05)
        img[y0:y1, x0:x1][mask] = colour + rng.normal(0, 0.02, size=(int(mask.sum()), 3))
    difficult = [bool(rng.random() < DIFFICULT_RATE) for _ in objects]
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), objects, difficult


def texture_image(size: int, rng: np.random.Generator) -> tuple[np.ndarray, list, list]:
    """Like :func:`synthetic_image`, with the texture-coded rectangles of ``classes_by="texture"``."""
    img = background(size, rng, stripes=False)  # stripes on the ground would look like objects
    objects = place_objects(size, rng, n_classes=N_TEXTURES, count=(1, 4),
                            sides=(TEXTURE_SIZE // 2, TEXTURE_SIZE))
    for k, x0, y0, x1, y1 in objects:
        # Scene classes k and k+8 share orientation and frequency, not palette.
        scene = k + N_TEXTURES * int(rng.integers(0, 2))
        img[y0:y1, x0:x1] = scene_image(scene, TEXTURE_SIZE, rng)[:y1 - y0, :x1 - x0] / 255.0
    difficult = [bool(rng.random() < DIFFICULT_RATE) for _ in objects]
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), objects, difficult


#: ``classes_by`` -> the function that draws one image with its objects.
IMAGES = {"colour": synthetic_image, "texture": texture_image}


def voc_xml(image_id: str, size: int, objects: list, difficult: list) -> str:
    """DIOR-style VOC XML text (1-based inclusive coordinates)."""
    rows = [f"<annotation>\n\t<filename>{image_id}.jpg</filename>\n\t<source>\n"
            f"\t\t<database>DIOR</database>\n\t</source>\n\t<size>\n\t\t<width>{size}</width>\n"
            f"\t\t<height>{size}</height>\n\t\t<depth>3</depth>\n\t</size>\n"
            f"\t<segmented>0</segmented>\n"]
    for (k, x0, y0, x1, y1), hard in zip(objects, difficult, strict=True):
        rows.append(f"\t<object>\n\t\t<name>{DIOR_CLASSES[k]}</name>\n\t\t<pose>Unspecified</pose>\n"
                    f"\t\t<truncated>0</truncated>\n\t\t<difficult>{int(hard)}</difficult>\n"
                    f"\t\t<bndbox>\n\t\t\t<xmin>{x0 + 1}</xmin>\n\t\t\t<ymin>{y0 + 1}</ymin>\n"
                    f"\t\t\t<xmax>{x1}</xmax>\n\t\t\t<ymax>{y1}</ymax>\n\t\t</bndbox>\n"
                    f"\t</object>\n")
    rows.append("</annotation>\n")
    return "".join(rows)


def jpeg_bytes(arr: np.ndarray) -> bytes:
    """JPEG bytes at quality 95, no metadata: the same pixels give the same bytes."""
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def make_synthetic_dior(root: Path, n_per_split: int = 12, size: int = 128, seed: int = 0,
                        classes_by: str = "colour") -> Path:
    """Write a learnable synthetic DIOR under ``root`` (the dataset folder, e.g.
    ``<data_root>/dior``); same seed, same bytes.

    Writes ``JPEGImages-trainval/<id>.jpg`` (train and val), ``JPEGImages-test/<id>.jpg``,
    ``Annotations/Horizontal Bounding Boxes/<id>.xml`` for every image and
    ``ImageSets/Main/{train,val,test}.txt``; ``n_per_split`` images per split, ids ``00001``...
    in train, val, test order. ``classes_by`` is ``"colour"`` (class = shape and colour, all 20
    classes) or ``"texture"`` (the first eight classes, told apart by texture alone; see the
    module docstring).

    Returns:
        ``root``.
    """
    if classes_by not in IMAGES:
        raise ValueError(f"classes_by {classes_by!r}: use one of {sorted(IMAGES)}")
    root = Path(root)
    (root / ANN_DIR).mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    next_id = 1
    for code, split in enumerate(SPLITS):
        folder = root / ("JPEGImages-test" if split == "test" else "JPEGImages-trainval")
        folder.mkdir(parents=True, exist_ok=True)
        ids = []
        for i in range(n_per_split):
            image_id = f"{next_id:05d}"
            rng = np.random.default_rng((seed, code, i))
            image, objects, difficult = IMAGES[classes_by](size, rng)
            (folder / f"{image_id}.jpg").write_bytes(jpeg_bytes(image))
            (root / ANN_DIR / f"{image_id}.xml").write_text(
                voc_xml(image_id, size, objects, difficult), encoding="utf-8")
            ids.append(image_id)
            next_id += 1
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text(
            "".join(f"{i}\n" for i in ids), encoding="utf-8")
    return root
