"""DOTA_devkit's ``ImgSplit`` (``splitbase``), rule for rule: tile grid, tile pixels, tile labels.

Read from ``ImgSplit_multi_process.py`` (CAPTAIN-WHU/DOTA_devkit, commit 9938855) as its
``__main__`` runs it: ``gap=200, subsize=1024``, ``thresh=0.7``, ``rate=1``, ``padding=True``
(``ImgSplit.py`` has the same rules without padding):

* Grid: ``left`` runs 0, 824, ... and the first one whose tile reaches the edge
  (``left + subsize >= W``) moves to ``max(W - subsize, 0)`` and is the last; rows alike. A tile
  is named ``<id>__1__<left>___<up>`` (``1`` = ``str(rate)``).
* Pixels: ``image[up:up + subsize, left:left + subsize]``, padded with zeros at the right and
  bottom to ``subsize`` x ``subsize`` (images under 1024 px).
* Labels: coordinates are truncated to integers when read. The tile's clip window is
  ``[left, min(left + subsize, W - 1)] x [up, min(up + subsize, H - 1)]`` (the last column and
  row end at ``W - 1`` / ``H - 1``). Per object (shapely, as the devkit): zero-area polygons are
  skipped; fully inside (intersection over object area == 1): the polygon, shifted, original
  difficulty. Partly inside: the intersection, oriented counter-clockwise; under 4 or over 5
  corners it is dropped; 5 corners become 4 by replacing the shortest edge by its midpoint;
  its corners are rotated to best fit the object's; coordinates are shifted, truncated and
  clamped to ``[1, subsize]``; the difficulty is the original one when more than ``thresh`` of
  the object's area is visible, else ``2``. Each line is ``x1 y1 ... y4 class difficulty`` with
  coordinates written as floats (``12.0``).

The intersection is shapely's, as in the devkit, so corner order and count are GEOS's own. Ties
(two equally short edges, two equally good rotations) go the way the devkit's
``np.argsort`` sends them, which numpy 2 does not keep stable (its SIMD sort): the same call on
the same numpy and CPU decides them alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from rsbench.data.detection.dota_raw import RawObject
from rsbench.data.errors import DataError

REFERENCE = {"repository": "https://github.com/CAPTAIN-WHU/DOTA_devkit", "commit": "9938855",
             "file": "ImgSplit_multi_process.py", "class": "splitbase",
             "settings": "gap=200, subsize=1024, thresh=0.7, padding=True, splitdata(1)"}
DEFAULTS = {"tile": 1024, "overlap": 200, "min_visible": 0.7}


def devkit_origins(length: int, subsize: int, slide: int) -> list[int]:
    """Tile origins along one axis, as ``SplitSingle``'s loops produce them."""
    out, pos = [], 0
    while True:
        if pos + subsize >= length:
            out.append(max(length - subsize, 0))
            return out
        out.append(pos)
        pos += slide


def devkit_tile_name(stem: str, left: int, up: int) -> str:
    """``<stem>__1__<left>___<up>``."""
    return f"{stem}__1__{left}___{up}"


def devkit_pixels(image: np.ndarray, left: int, up: int, subsize: int) -> np.ndarray:
    """The tile's pixels, zero-padded to ``subsize`` x ``subsize``."""
    crop = image[up:up + subsize, left:left + subsize]
    out = np.zeros((subsize, subsize, image.shape[2]), dtype=np.uint8)
    out[:crop.shape[0], :crop.shape[1]] = crop
    return out


def poly5_to_poly4(coords: list[float]) -> list[float]:
    """The devkit's ``GetPoly4FromPoly5``: the shortest edge (first on ties) -> its midpoint."""
    pts = [(coords[2 * i], coords[2 * i + 1]) for i in range(5)]
    lengths = [math.sqrt(math.pow(pts[i][0] - pts[(i + 1) % 5][0], 2)
                         + math.pow(pts[i][1] - pts[(i + 1) % 5][1], 2)) for i in range(5)]
    pos = int(np.array(lengths).argsort()[0])
    out: list[float] = []
    for i in range(5):
        if i == pos:
            out += [(pts[i][0] + pts[(i + 1) % 5][0]) / 2, (pts[i][1] + pts[(i + 1) % 5][1]) / 2]
        elif i != (pos + 1) % 5:
            out += list(pts[i])
    return out


def best_rotation(coords: list[float], target: list[int]) -> list[float]:
    """The cyclic start of ``coords`` (4 corners) closest to ``target`` (first on ties)."""
    rotations = [coords[2 * k:] + coords[:2 * k] for k in range(4)]
    distances = np.array([np.sum((np.array(r) - np.array(target)) ** 2) for r in rotations])
    return rotations[int(distances.argsort()[0])]


def _line(coords: list, name: str, difficulty: str) -> str:
    """A label line: 8 coordinates written as floats, the class, the difficulty."""
    return " ".join(str(float(v)) for v in coords) + f" {name} {difficulty}"


def devkit_tile_lines(objects: list[RawObject], left: int, up: int, right: int, down: int,
                      subsize: int, thresh: float, where: str = "") -> list[str]:
    """The label lines ``savepatches`` writes for the tile ``[left, right] x [up, down]``.

    Raises:
        ValueError: an object the devkit cannot clip either (self-intersecting polygon, or one
            that a tile edge cuts into pieces); the message names ``where`` and the object.
    """
    import shapely.geometry as shgeo
    from shapely.errors import GEOSException
    from shapely.geometry.polygon import orient

    window = shgeo.Polygon([(left, up), (right, up), (right, down), (left, down)])
    out = []
    for index, (raw, name, difficulty) in enumerate(objects):
        poly = [int(v) for v in raw]
        xs, ys = poly[0::2], poly[1::2]
        if max(xs) <= left or min(xs) >= right or max(ys) <= up or min(ys) >= down:
            continue  # no area in common: the devkit skips it (intersection area 0)
        gt = shgeo.Polygon(list(zip(xs, ys, strict=True)))
        if gt.area <= 0:
            continue
        try:
            inter = gt.intersection(window)
        except GEOSException as err:
            raise DataError(f"{where} object {index + 1} ({name}): self-intersecting polygon "
                            f"crosses a tile edge; DOTA_devkit cannot clip it either ({err})") from None
        visible = inter.area / gt.area
        if visible == 1:
            out.append(_line([v - (left if i % 2 == 0 else up) for i, v in enumerate(poly)],
                             name, difficulty))
            continue
        if visible <= 0:
            continue
        if inter.geom_type != "Polygon":
            raise DataError(f"{where} object {index + 1} ({name}): a tile edge cuts this "
                            f"concave polygon into pieces; DOTA_devkit fails on it too")
        corners = list(orient(inter, sign=1).exterior.coords)[:-1]
        if len(corners) < 4 or len(corners) > 5:
            continue
        coords = [v for point in corners for v in point]
        if len(corners) == 5:
            coords = poly5_to_poly4(coords)
        coords = best_rotation(coords, poly)
        shifted = [int(v - (left if i % 2 == 0 else up)) for i, v in enumerate(coords)]
        clamped = [1 if v <= 1 else subsize if v >= subsize else v for v in shifted]
        out.append(_line(clamped, name, difficulty if visible > thresh else "2"))
    return out


def devkit_tiles(width: int, height: int, tile: int, overlap: int
                 ) -> Iterator[tuple[int, int, int, int]]:
    """``(left, up, right, down)`` of every tile, columns outer, as ``SplitSingle`` visits them."""
    for left in devkit_origins(width, tile, tile - overlap):
        for up in devkit_origins(height, tile, tile - overlap):
            yield left, up, min(left + tile, width - 1), min(up + tile, height - 1)
