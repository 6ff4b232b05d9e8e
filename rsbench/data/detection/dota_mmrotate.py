"""mmrotate's DOTA splitter (``tools/data/dota/split/img_split.py``) with its ``ss_*.json`` settings.

Read from open-mmlab/mmrotate (commit b030f38; forked from BboxToolkit): ``sizes=[1024]``,
``gaps=[200]``, ``rates=[1.0]``, ``img_rate_thr=0.6``, ``iof_thr=0.7``, padding on with
``padding_value=[104, 116, 124]``:

* Windows: ``ceil((W - size) / step + 1)`` starts ``0, step, ...`` (one when ``W <= size``), the
  last moved back to ``W - size`` when it overhangs; every window is ``size`` x ``size`` and may
  overhang a small image (all windows of an image have the same in-image share, so the
  ``img_rate_thr`` filter keeps them all). A tile is named ``<id>__1024__<x>___<y>``.
* Pixels: the crop, padded to ``size`` x ``size`` with ``padding_value`` in OpenCV's BGR order,
  i.e. RGB ``(124, 116, 104)``.
* Labels: an object is kept when its polygon's intersection with the window over its own area
  (float32) is at least ``iof_thr``; kept objects are NOT clipped: the float32 polygon is only
  shifted by the window origin (it may leave the tile); difficulty ``2`` when the object is cut
  (iof < 1), else its own. Lines are ``x1 y1 ... y4 class difficulty``, numbers as numpy prints
  float32 (``12.0``).
"""

from __future__ import annotations

import math

import numpy as np

from rsbench.data.detection.dota_raw import RawObject
from rsbench.data.errors import DataError

REFERENCE = {"repository": "https://github.com/open-mmlab/mmrotate", "commit": "b030f38",
             "file": "tools/data/dota/split/img_split.py",
             "settings": "tools/data/dota/split/split_configs/ss_{train,val}.json: sizes 1024, "
                         "gaps 200, rates 1.0, img_rate_thr 0.6, iof_thr 0.7, padding "
                         "(104, 116, 124)"}
DEFAULTS = {"tile": 1024, "overlap": 200, "min_visible": 0.7}
IMG_RATE_THR = 0.6
PAD_RGB = (124, 116, 104)  # padding_value [104, 116, 124] is written in BGR order


def window_starts(length: int, size: int, step: int) -> list[int]:
    """Window starts along one axis (``get_sliding_window``)."""
    num = 1 if length <= size else math.ceil((length - size) / step + 1)
    starts = [step * i for i in range(num)]
    if len(starts) > 1 and starts[-1] + size > length:
        starts[-1] = length - size
    return starts


def mmrotate_windows(width: int, height: int, size: int, gap: int) -> list[tuple[int, int]]:
    """``(x, y)`` of the kept windows, x outer (``itertools.product`` order)."""
    step = size - gap
    windows = [(x, y) for x in window_starts(width, size, step)
               for y in window_starts(height, size, step)]
    rates = np.array([(min(x + size, width) - x) * (min(y + size, height) - y) / (size * size)
                      for x, y in windows])
    if not (rates > IMG_RATE_THR).any():
        rates[abs(rates - rates.max()) < 0.01] = 1
    return [w for w, r in zip(windows, rates, strict=True) if r > IMG_RATE_THR]


def mmrotate_tile_name(stem: str, x: int, y: int, size: int) -> str:
    """``<stem>__<size>__<x>___<y>``."""
    return f"{stem}__{size}__{x}___{y}"


def mmrotate_pixels(image: np.ndarray, x: int, y: int, size: int) -> np.ndarray:
    """The window's pixels, padded with ``PAD_RGB`` when it overhangs the image."""
    crop = image[y:y + size, x:x + size]
    if crop.shape[0] == size and crop.shape[1] == size:
        return crop
    out = np.empty((size, size, 3), dtype=np.uint8)
    out[...] = PAD_RGB
    out[:crop.shape[0], :crop.shape[1]] = crop
    return out


def mmrotate_tile_lines(objects: list[RawObject], x: int, y: int, size: int,
                        iof_thr: float, where: str = "") -> list[str]:
    """The label lines ``crop_and_save_img`` writes for the window at ``(x, y)``.

    Raises:
        ValueError: a self-intersecting polygon overlaps the window (shapely, hence mmrotate,
            cannot intersect it); the message names ``where`` and the object.
    """
    import shapely.geometry as shgeo
    from shapely.errors import GEOSException

    window = shgeo.Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])
    out = []
    for index, (raw, name, difficulty) in enumerate(objects):
        poly = np.array(raw, dtype=np.float32)
        xs, ys = poly[0::2], poly[1::2]
        if min(xs.max(), x + size) - max(xs.min(), x) <= 0 or \
                min(ys.max(), y + size) - max(ys.min(), y) <= 0:
            continue  # boxes do not overlap: mmrotate leaves its iof at 0
        shape = shgeo.Polygon(poly.reshape(4, 2))
        try:
            overlap = shape.intersection(window).area
        except GEOSException as err:
            raise DataError(f"{where} object {index + 1} ({name}): self-intersecting polygon; "
                            f"mmrotate's splitter cannot intersect it either ({err})") from None
        # float64 intersection over the float32 area, as mmrotate's array division gives
        iof = float(overlap) / float(max(np.float32(shape.area), np.float32(1e-6)))
        if iof < iof_thr:
            continue
        shifted = poly + np.array([-x, -y] * 4, dtype=np.float32)
        out.append(" ".join(map(str, shifted)) + f" {name} "
                   + (str(int(difficulty)) if iof >= 1 else "2"))
    return out
