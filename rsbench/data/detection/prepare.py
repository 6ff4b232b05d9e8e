"""Preparing DOTA v1.0: large images -> tiles with horizontal boxes + a sha256 manifest.

The grid follows the DOTA devkit (``ImgSplit``): tiles of ``tile`` px every ``tile - overlap``
px (1024 / 200 by default, stride 824), the last row and column shifted back to end at the image
edge (``rsbench.data.segmentation.patch_positions``); an image side shorter than ``tile`` gives
one tile of that side (no padding, the protocol resizes).

Boxes: each object polygon is clipped to the tile (Sutherland-Hodgman); its box in the tile is
the enclosing horizontal box of the clipped polygon. The devkit's truncation rule decides what
happens to an object cut by a tile edge: if the visible part of the polygon has less than
``min_visible`` (0.7) of its area, the object is kept and marked difficult (the devkit writes
difficulty ``2``; ``truncated="drop"`` removes it instead). Objects with nothing visible are not
in the tile. An original ``difficult`` 1 is kept.

Every tile is written (also those without objects) as a PNG without metadata; the manifest holds
parameters, per-image facts and the sha256 of every file, no times and no absolute paths, and is
written atomically last (after the old one is removed), so the same raw data gives the same
bytes anywhere and an interrupted preparation reads as unprepared.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.detection.dota import (
    DOTA_CLASSES,
    DOTAAdapter,
    Polygon,
    clip_polygon,
    parse_dota_txt,
    polygon_to_hbb,
    visible_fraction,
)
from rsbench.data.errors import DatasetNotFound
from rsbench.data.segmentation.common import write_png
from rsbench.data.segmentation.isprs import patch_positions
from rsbench.results.atomic import atomic_write_bytes

MANIFEST_FORMAT = "rsbench-prepared/1"
RAW_SPLITS = ("train", "val")
LABEL_DIRS = ("labelTxt", "labelTxt-v1.0/labelTxt")
Image.MAX_IMAGE_PIXELS = None  # DOTA images are large but trusted local files


def tile_objects(objects: list[tuple[Polygon, str, bool]], x: int, y: int, w: int, h: int,
                 min_visible: float = 0.7, truncated: str = "difficult"
                 ) -> tuple[list[tuple[float, float, float, float, str, bool]], int, int]:
    """The objects of the tile ``[x, x + w) x [y, y + h)`` in tile pixels.

    Returns:
        ``([(x1, y1, x2, y2, class, difficult), ...], n_truncated, n_dropped)``.
    """
    out, n_truncated, n_dropped = [], 0, 0
    for poly, name, difficult in objects:
        clipped = clip_polygon(poly, x, y, x + w, y + h)
        if not clipped:
            continue
        bx1, by1, bx2, by2 = polygon_to_hbb(clipped)
        if bx2 <= bx1 or by2 <= by1:
            continue
        if visible_fraction(poly, clipped) < min_visible:
            if truncated == "drop":
                n_dropped += 1
                continue
            n_truncated += 1
            difficult = True
        out.append((bx1 - x, by1 - y, bx2 - x, by2 - y, name, difficult))
    return out, n_truncated, n_dropped


def label_text(objects: list[tuple[float, float, float, float, str, bool]]) -> str:
    """A prepared label file: ``x1 y1 x2 y2 class difficult`` per line, 2 decimals."""
    return "".join(f"{x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} {name} {int(hard)}\n"
                   for x1, y1, x2, y2, name, hard in objects)


def cut_image(split: str, image_path: Path, label_path: Path, dst: Path, tile: int,
              overlap: int, min_visible: float, truncated: str) -> tuple[dict[str, str], dict]:
    """Write one image's tiles and labels under ``dst``; returns ``({rel: sha256}, facts)``."""
    objects = parse_dota_txt(label_path.read_text(encoding="utf-8", errors="replace"))
    unknown = sorted({name for _, name, _ in objects} - set(DOTA_CLASSES))
    if unknown:
        raise ValueError(f"{label_path}: unknown DOTA v1.0 class(es) {unknown}")
    with Image.open(image_path) as img:
        image = np.asarray(img.convert("RGB"))
    height, width = image.shape[:2]
    stem, files = image_path.stem, {}
    n_truncated = n_dropped = n_boxes = 0
    for y in patch_positions(height, tile, tile - overlap):
        for x in patch_positions(width, tile, tile - overlap):
            w, h = min(tile, width - x), min(tile, height - y)
            boxes, trunc, drop = tile_objects(objects, x, y, w, h, min_visible, truncated)
            n_truncated, n_dropped, n_boxes = n_truncated + trunc, n_dropped + drop, n_boxes + len(boxes)
            name = f"{stem}__1__{x}___{y}"
            rel_img, rel_txt = f"images/{split}/{name}.png", f"labels/{split}/{name}.txt"
            files[rel_img] = write_png(dst / rel_img, image[y:y + h, x:x + w])
            data = label_text(boxes).encode("utf-8")
            (dst / rel_txt).parent.mkdir(parents=True, exist_ok=True)
            (dst / rel_txt).write_bytes(data)
            files[rel_txt] = hashlib.sha256(data).hexdigest()
    info = {"split": split, "height": int(height), "width": int(width),
            "n_tiles": len(files) // 2, "n_objects": len(objects), "n_tile_boxes": n_boxes,
            "n_truncated": n_truncated, "n_dropped": n_dropped}
    return files, info


def raw_dota_files(src: Path) -> list[tuple[str, Path, Path]]:
    """``(split, image, label)`` for every raw image, in split then name order."""
    adapter = DOTAAdapter()
    out = []
    for split in RAW_SPLITS:
        images = sorted((src / split / "images").glob("*.png"))
        label_dir = next((src / split / d for d in LABEL_DIRS if (src / split / d).is_dir()), None)
        if not images or label_dir is None:
            raise DatasetNotFound(
                f"raw {adapter.title} {split} data not found under {src}: expected "
                f"{split}/images/P*.png and {split}/labelTxt/P*.txt (or labelTxt-v1.0/labelTxt); "
                f"download DOTA v1.0 train and val from {adapter.homepage}")
        for image in images:
            label = label_dir / f"{image.stem}.txt"
            if not label.is_file():
                raise DatasetNotFound(f"raw {adapter.title} is incomplete under {src}: no label "
                                      f"{label.relative_to(src)} for {image.relative_to(src)}")
            out.append((split, image, label))
    return out


def prepare_dota(src: Path, dst: Path, tile: int = 1024, overlap: int = 200,
                 min_visible: float = 0.7, truncated: str = "difficult",
                 workers: int = 1) -> dict:
    """Cut the DOTA v1.0 train and val images under ``src`` into labelled tiles under ``dst``.

    Args:
        src: the extracted raw data (see ``dota`` for the layout).
        dst: the prepared dataset root (``<data_root>/dota``); tiles are overwritten.
        tile: tile side in px (devkit: 1024).
        overlap: overlap of neighbouring tiles in px (devkit: 200); ``0 <= overlap < tile``.
        min_visible: visible area fraction below which a cut object is truncated (devkit 0.7).
        truncated: ``"difficult"`` (keep, marked difficult: the devkit's rule) or ``"drop"``.
        workers: processes cutting images in parallel (output is the same for any number).

    Returns:
        A summary: dataset, dst, manifest path and sha256, parameters, image and tile counts.

    Raises:
        ValueError: bad parameters or an unknown class in a label file.
        DatasetNotFound: raw images or labels are missing (says what and where).
    """
    if tile <= 0 or not 0 <= overlap < tile:
        raise ValueError(f"need tile > 0 and 0 <= overlap < tile, got {tile} and {overlap}")
    if truncated not in ("difficult", "drop") or not 0.0 <= min_visible <= 1.0:
        raise ValueError(f"truncated must be 'difficult' or 'drop' and min_visible in [0, 1], "
                         f"got {truncated!r} and {min_visible!r}")
    src, dst = Path(src), Path(dst)
    raw = raw_dota_files(src)
    (dst / "manifest.json").unlink(missing_ok=True)
    jobs = [(split, image, label, dst, tile, overlap, min_visible, truncated)
            for split, image, label in raw]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(cut_image, *zip(*jobs, strict=True)))
    else:
        results = [cut_image(*job) for job in jobs]
    files: dict[str, str] = {}
    images: dict[str, dict] = {}
    for (split, image, label, *_), (image_files, info) in zip(jobs, results, strict=True):
        files.update(image_files)
        images[f"{split}/{image.stem}"] = {**info, "label_file": label.relative_to(src).as_posix()}
    manifest = {
        "format": MANIFEST_FORMAT, "dataset": "dota", "tile": tile, "overlap": overlap,
        "min_visible": min_visible, "truncated": truncated, "classes": list(DOTA_CLASSES),
        "note": "horizontal boxes = enclosing box of the polygon clipped to the tile; objects "
                f"with < {min_visible} of their area visible are {truncated!r} (devkit rule)",
        "images": images, "files": files,
    }
    data = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")
    atomic_write_bytes(dst / "manifest.json", data)
    counts = {s: sum(i["n_tiles"] for i in images.values() if i["split"] == s) for s in RAW_SPLITS}
    return {"dataset": "dota", "dst": str(dst), "manifest": str(dst / "manifest.json"),
            "manifest_sha256": hashlib.sha256(data).hexdigest(), "tile": tile,
            "overlap": overlap, "min_visible": min_visible, "truncated": truncated,
            "n_images": len(images), "n_train": counts["train"], "n_val": counts["val"],
            "n_files": len(files)}
