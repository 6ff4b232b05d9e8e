"""Cutting large detection images into labelled tiles with a sha256 manifest (xView).

The grid is the DOTA devkit's (``ImgSplit``): tiles of ``tile`` px every ``tile - overlap``
px, the last row and column shifted back to end at the image edge
(``rsbench.data.preparation.patch_positions``), so every tile of an image at least ``tile`` px
wide and high is full size; a shorter side gives one tile of that side (no padding, the protocol
resizes). A tile is named ``<stem>__1__<x>___<y>`` as in the devkit (``1``: the scale), which
keeps the source image recoverable from any tile name.

Boxes follow rsbench's own rule for xView (not the devkit's polygon rules, which DOTA's
preparation reproduces in ``dota_devkit``): each object polygon is clipped to the tile
(Sutherland-Hodgman); its box in the tile is the enclosing horizontal box of the clipped
polygon. If the visible part has less than ``min_visible`` of the object's area, the object is
kept and marked difficult (``truncated="drop"`` removes it instead), so slivers of an object
are never scored as positives. Objects with nothing visible are not in the tile.

Every tile is written (also those without objects) as a PNG without metadata; each image is
cut on its own by the preparation driver (``rsbench.data.preparation``: workers, manifest).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rsbench.data.detection.polygons import Polygon, clip_polygon, polygon_to_hbb, visible_fraction
from rsbench.data.errors import PrepareError
from rsbench.data.preparation import patch_positions, write_bytes, write_png

TileBox = tuple[float, float, float, float, str, bool]
"""A box in tile pixels: ``(x1, y1, x2, y2, class token, difficult)``."""


def check_tiling(tile: int, overlap: int, min_visible: float, truncated: str) -> None:
    """Raise ``PrepareError`` naming the bad parameter before any file is touched."""
    if tile <= 0 or not 0 <= overlap < tile:
        raise PrepareError(f"need tile > 0 and 0 <= overlap < tile, got {tile} and {overlap}")
    if truncated not in ("difficult", "drop") or not 0.0 <= min_visible <= 1.0:
        raise PrepareError(f"truncated must be 'difficult' or 'drop' and min_visible in [0, 1], "
                           f"got {truncated!r} and {min_visible!r}")


def tile_name(stem: str, x: int, y: int) -> str:
    """The devkit's tile name; ``source_stem`` inverts it."""
    return f"{stem}__1__{x}___{y}"


def source_stem(tile_file: str) -> str:
    """The stem of the image a tile (path or name) was cut from."""
    return Path(tile_file).name.split("__", 1)[0]


def tile_objects(objects: list[tuple[Polygon, str, bool]], x: int, y: int, w: int, h: int,
                 min_visible: float = 0.7, truncated: str = "difficult"
                 ) -> tuple[list[TileBox], int, int]:
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


def label_text(objects: list[TileBox]) -> str:
    """A prepared label file: ``x1 y1 x2 y2 class difficult`` per line, 2 decimals."""
    return "".join(f"{x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} {name} {int(hard)}\n"
                   for x1, y1, x2, y2, name, hard in objects)


def cut_tiles(image: np.ndarray, objects: list[tuple[Polygon, str, bool]], stem: str, dst: Path,
              image_dir: str, label_dir: str, tile: int, overlap: int, min_visible: float,
              truncated: str) -> tuple[dict[str, str], dict]:
    """Write the tiles of one ``[H, W, 3]`` image and their label files under ``dst``.

    Returns:
        ``({relative path: sha256}, facts)``; facts count tiles, boxes and truncated objects.
    """
    height, width = image.shape[:2]
    files: dict[str, str] = {}
    n_truncated = n_dropped = n_boxes = 0
    # xView scenes hold thousands of boxes: clip only those whose box overlaps the tile (the
    # others would clip to nothing or to a line, which tile_objects skips anyway)
    hbbs = np.array([polygon_to_hbb(poly) for poly, _, _ in objects], float).reshape(-1, 4)
    for y in patch_positions(height, tile, tile - overlap):
        for x in patch_positions(width, tile, tile - overlap):
            w, h = min(tile, width - x), min(tile, height - y)
            near = np.flatnonzero((hbbs[:, 2] > x) & (hbbs[:, 0] < x + w)
                                  & (hbbs[:, 3] > y) & (hbbs[:, 1] < y + h))
            boxes, trunc, drop = tile_objects([objects[i] for i in near], x, y, w, h,
                                              min_visible, truncated)
            n_truncated, n_dropped = n_truncated + trunc, n_dropped + drop
            n_boxes += len(boxes)
            name = tile_name(stem, x, y)
            rel_img, rel_txt = f"{image_dir}/{name}.png", f"{label_dir}/{name}.txt"
            files[rel_img] = write_png(dst / rel_img, image[y:y + h, x:x + w])
            files[rel_txt] = write_bytes(dst / rel_txt, label_text(boxes).encode("utf-8"))
    facts = {"height": int(height), "width": int(width), "n_tiles": len(files) // 2,
             "n_objects": len(objects), "n_tile_boxes": n_boxes, "n_truncated": n_truncated,
             "n_dropped": n_dropped}
    return files, facts
