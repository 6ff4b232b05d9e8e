"""DOTA v1.0 with horizontal boxes: raw labels, polygon geometry and the prepared-tile reader.

Raw layout (the DOTA v1.0 train and val archives extracted under ``src``)::

    {train,val}/images/P<id>.png
    {train,val}/labelTxt/P<id>.txt          (or {train,val}/labelTxt-v1.0/labelTxt/P<id>.txt)

A label file has optional ``imagesource:`` / ``gsd:`` header lines, then one object per line:
``x1 y1 x2 y2 x3 y3 x4 y4 class difficult`` (a polygon in pixel coordinates; a missing
``difficult`` reads as 0). Images run from 800 to 4000 px, so ``prepare_dota`` cuts them into
tiles (see ``prepare``). Prepared layout (``<data_root>/dota``, what the reader uses)::

    images/{train,val}/<P-id>__1__<x>___<y>.png     tile whose top-left is (x, y) in the image
    labels/{train,val}/<P-id>__1__<x>___<y>.txt     ``x1 y1 x2 y2 class difficult`` per line,
                                                    horizontal boxes in tile pixels
    manifest.json                                   parameters, per-image facts, sha256 per file

Official split ``train-val-as-test``: the test server's labels are private, so, as is common,
the val images are scored and the train images trained on; ``val_fraction`` > 0 carves a val
from train by source image (tiles of one image overlap and must not straddle train and val).
"""

from __future__ import annotations

import json
from pathlib import Path

from rsbench.data.detection.base import DetAdapter
from rsbench.data.detection.common import Annotation, DetSample

DOTA_URL = "https://captain-whu.github.io/DOTA/dataset.html"
#: DOTA v1.0 classes in torchgeo 0.8.1's ``DOTA.classes`` order (its first 15).
DOTA_CLASSES = (
    "plane", "ship", "storage-tank", "baseball-diamond", "tennis-court", "basketball-court",
    "ground-track-field", "harbor", "bridge", "large-vehicle", "small-vehicle", "helicopter",
    "roundabout", "soccer-ball-field", "swimming-pool",
)
Polygon = list[tuple[float, float]]


def parse_dota_txt(text: str) -> list[tuple[Polygon, str, bool]]:
    """``(polygon, class name, difficult)`` per object line of a DOTA label file."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 9 or line.startswith(("imagesource", "gsd")):
            continue
        xy = [float(v) for v in parts[:8]]
        difficult = len(parts) > 9 and parts[9] != "0"
        out.append((list(zip(xy[0::2], xy[1::2], strict=True)), parts[8], difficult))
    return out


def polygon_to_hbb(poly: Polygon) -> tuple[float, float, float, float]:
    """The enclosing horizontal box ``(xmin, ymin, xmax, ymax)`` of a polygon."""
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


def polygon_area(poly: Polygon) -> float:
    """Unsigned shoelace area."""
    n = len(poly)
    return abs(sum(poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1]
                   for i in range(n))) / 2.0


def clip_polygon(poly: Polygon, x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """The part of a convex or simple polygon inside the rectangle (Sutherland-Hodgman)."""
    def cut(points: Polygon, inside, cross) -> Polygon:
        out: Polygon = []
        for i, cur in enumerate(points):
            prev = points[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
        return out

    def at_x(x):
        return lambda p, q: (x, p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0]))

    def at_y(y):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (y - p[1]) / (q[1] - p[1]), y)

    for inside, cross in ((lambda p: p[0] >= x0, at_x(x0)), (lambda p: p[0] <= x1, at_x(x1)),
                          (lambda p: p[1] >= y0, at_y(y0)), (lambda p: p[1] <= y1, at_y(y1))):
        poly = cut(poly, inside, cross) if poly else poly
    return poly


def visible_fraction(poly: Polygon, clipped: Polygon) -> float:
    """Area of ``clipped`` over area of ``poly``; degenerate polygons use their boxes."""
    full = polygon_area(poly)
    if full > 0:
        return polygon_area(clipped) / full if clipped else 0.0
    bx, cx = polygon_to_hbb(poly), polygon_to_hbb(clipped) if clipped else (0, 0, 0, 0)
    full = max(bx[2] - bx[0], 0) * max(bx[3] - bx[1], 0)
    return (max(cx[2] - cx[0], 0) * max(cx[3] - cx[1], 0)) / full if full > 0 else 0.0


class DOTAAdapter(DetAdapter):
    """DOTA v1.0 horizontal boxes, read from the prepared tiles (see the module docstring)."""

    name = "dota"
    title = "DOTA v1.0"
    homepage = DOTA_URL
    classes = DOTA_CLASSES
    official_names = {
        "train-val-as-test": "DOTA v1.0 train tiles as train (val, if any, carved from it by "
                             "source image with the seed), val tiles as test",
    }
    layout = "images/{train,val}/*.png, labels/{train,val}/*.txt and manifest.json"

    def how_to_get(self) -> str:
        return (f"download DOTA v1.0 train and val from {DOTA_URL} and run `rsbench data prepare "
                f"dota --src RAW --dst <data_root>/dota`")

    def official(self, root: Path, name: str) -> dict[str, list[DetSample]]:
        """Tiles listed in ``manifest.json`` (not a glob: stale files are never picked up)."""
        root = Path(root)
        manifest = root / "manifest.json"
        if not manifest.is_file():
            raise self.not_found(root, "is not prepared (no manifest.json)")
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        out: dict[str, list[DetSample]] = {"val": []}
        for split, target in (("train", "train"), ("val", "test")):
            prefix = f"images/{split}/"
            out[target] = [(rel, "labels/" + rel[len("images/"):-len(".png")] + ".txt")
                           for rel in sorted(files) if rel.startswith(prefix)]
            if not out[target]:
                raise self.not_found(root, f"has no {split} tiles in its manifest")
        return out

    def load_annotation(self, root: Path, image_rel: str, ann_rel: str) -> Annotation:
        index = {c: i for i, c in enumerate(self.classes)}
        boxes, labels, difficult = [], [], []
        for line in (Path(root) / ann_rel).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            x1, y1, x2, y2, name, hard = line.split()
            boxes.append([float(x1), float(y1), float(x2), float(y2)])
            labels.append(index[name])
            difficult.append(hard != "0")
        return Annotation.from_lists(boxes, labels, difficult)

    def group(self, image_rel: str) -> str:
        """Tiles of one source image overlap: a val split is carved by source image."""
        return Path(image_rel).name.split("__", 1)[0]

