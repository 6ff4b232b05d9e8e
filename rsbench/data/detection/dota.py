"""DOTA v1.0 with horizontal boxes: the prepared-tile readers, one per reference splitter.

``rsbench data prepare dota [--variant devkit|mmrotate]`` cuts the raw release (layouts:
``dota_raw``) into tiles whose pixels and label files are the reference splitter's (``prepare``).
Prepared layout (``<data_root>/dota``, or ``<data_root>/dota_mmrotate``)::

    images/{train,val}/<tile>.png       <tile> = P<id>__1__<x>___<y> (devkit) or
                                        P<id>__1024__<x>___<y> (mmrotate): top-left (x, y)
    labels/{train,val}/<tile>.txt       the reference's label file: ``x1 y1 ... y4 class diff``
    manifest.json                       variant, reference, parameters, sha256 per file

Two datasets read them, and each refuses the other's tiles (the task's dataset name is in its
spec, hence in every record's spec hash):

* ``dota``: the devkit's tiles. A box is the enclosing box of the tile polygon; difficulty
  ``1`` and ``2`` (at most 0.7 visible) are difficult, i.e. ignored in scoring, as the devkit's
  ``dota_evaluation_task2.py`` does (``difficult`` as bool).
* ``dota_mmrotate``: mmrotate's tiles. mmrotate's ``DOTADataset`` (``difficulty=100``) keeps
  every object as a normal one, so nothing is difficult here; its boxes may overhang the tile
  (the polygons are not clipped) and are clipped to the tile by the reader (``clean_annotation``).

Official split ``train-val-as-test``: the test server's labels are private, so, as is common,
the val tiles are scored and the train tiles trained on; ``val_fraction`` > 0 carves a val from
train by source image (tiles of one image overlap and must not straddle train and val).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from rsbench.data.detection.base import DetAdapter
from rsbench.data.detection.common import Annotation, DetSample
from rsbench.data.detection.polygons import (  # noqa: F401 (re-exported, historic home)
    Polygon,
    clip_polygon,
    polygon_area,
    polygon_to_hbb,
    visible_fraction,
)

DOTA_URL = "https://captain-whu.github.io/DOTA/dataset.html"
#: DOTA v1.0 classes in torchgeo 0.8.1's ``DOTA.classes`` order (its first 15).
DOTA_CLASSES = (
    "plane", "ship", "storage-tank", "baseball-diamond", "tennis-court", "basketball-court",
    "ground-track-field", "harbor", "bridge", "large-vehicle", "small-vehicle", "helicopter",
    "roundabout", "soccer-ball-field", "swimming-pool",
)
#: Preparation variant -> the dataset name that reads it.
DOTA_VARIANTS = {"devkit": "dota", "mmrotate": "dota_mmrotate"}


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


class DOTAAdapter(DetAdapter):
    """DOTA v1.0 horizontal boxes from DOTA_devkit-split tiles (see the module docstring)."""

    name = "dota"
    title = "DOTA v1.0"
    homepage = DOTA_URL
    classes = DOTA_CLASSES
    official_names = {
        "train-val-as-test": "DOTA v1.0 train tiles as train (val, if any, carved from it by "
                             "source image with the seed), val tiles as test",
    }
    layout = "images/{train,val}/*.png, labels/{train,val}/*.txt and manifest.json"
    #: The preparation variant this dataset reads.
    variant: ClassVar[str] = "devkit"

    def how_to_get(self) -> str:
        flag = "" if self.variant == "devkit" else f" --variant {self.variant}"
        return (f"download DOTA v1.0 train and val from {DOTA_URL} and run `rsbench data prepare "
                f"dota{flag} --src RAW --dst <data_root>/{self.name}`")

    def manifest(self, root: Path) -> dict:
        """The prepared manifest, checked to be of this dataset's variant.

        Raises:
            DatasetNotFound: no manifest, or one written for the other variant (the one-line
                message names the manifest and what to run or use instead).
        """
        path = Path(root) / "manifest.json"
        if not path.is_file():
            raise self.not_found(root, "is not prepared (no manifest.json)")
        manifest = json.loads(path.read_text(encoding="utf-8"))
        found = manifest.get("variant")
        if found != self.variant:
            other = (f"or set dataset.name: {DOTA_VARIANTS[found]} in the task"
                     if found in DOTA_VARIANTS else "(prepared by an older rsbench)")
            raise self.not_found(
                root, f"has tiles of variant {found!r} ({path}) but reads variant "
                      f"{self.variant!r}: run `rsbench data prepare dota --variant "
                      f"{self.variant} --src RAW --dst {root}` {other}")
        return manifest

    def official(self, root: Path, name: str) -> dict[str, list[DetSample]]:
        """Tiles listed in ``manifest.json`` (not a glob: stale files are never picked up)."""
        root = Path(root)
        files = self.manifest(root).get("files", {})
        out: dict[str, list[DetSample]] = {"val": []}
        for split, target in (("train", "train"), ("val", "test")):
            prefix = f"images/{split}/"
            out[target] = [(rel, "labels/" + rel[len("images/"):-len(".png")] + ".txt")
                           for rel in sorted(files) if rel.startswith(prefix)]
            if not out[target]:
                raise self.not_found(root, f"has no {split} tiles in its manifest")
        return out

    def is_difficult(self, token: str) -> bool:
        """The devkit's evaluation reads the difficulty as a bool: 1 and 2 are difficult."""
        return int(token) != 0

    def load_annotation(self, root: Path, image_rel: str, ann_rel: str) -> Annotation:
        index = {c: i for i, c in enumerate(self.classes)}
        boxes, labels, difficult = [], [], []
        for line in (Path(root) / ann_rel).read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) < 10:
                continue
            xs, ys = [float(v) for v in parts[0:8:2]], [float(v) for v in parts[1:8:2]]
            boxes.append([min(xs), min(ys), max(xs), max(ys)])
            labels.append(index[parts[8]])
            difficult.append(self.is_difficult(parts[9]))
        return Annotation.from_lists(boxes, labels, difficult)

    def group(self, image_rel: str) -> str:
        """Tiles of one source image overlap: a val split is carved by source image."""
        return Path(image_rel).name.split("__", 1)[0]


class DOTAMMRotateAdapter(DOTAAdapter):
    """DOTA v1.0 horizontal boxes from mmrotate-split tiles (see the module docstring)."""

    name = "dota_mmrotate"
    title = "DOTA v1.0 (mmrotate split)"
    variant = "mmrotate"

    def is_difficult(self, token: str) -> bool:
        """mmrotate's ``DOTADataset(difficulty=100)`` treats every object as a normal one."""
        return int(token) > 100
