"""DOTA v1.0 with horizontal boxes: the prepared-tile readers, one per reference splitter.

``rsbench data prepare dota [--variant devkit|mmrotate]`` cuts the raw release (layouts:
``dota_raw``) into tiles whose pixels and label files are the reference splitter's (``prepare``).
Prepared layout (``<data_root>/dota``)::

    images/{train,val}/<tile>.png       <tile> = P<id>__1__<x>___<y> (devkit) or
                                        P<id>__1024__<x>___<y> (mmrotate): top-left (x, y)
    labels/{train,val}/<tile>.txt       the reference's label file: ``x1 y1 ... y4 class diff``
    manifest.json                       variant, reference, parameters, sha256 per file

The task's ``dataset.variant`` says which preparation it reads (``devkit`` when absent), and
the reader refuses tiles of another one (the variant is in the task spec, hence in every
record's spec hash; the manifest's variant and reference are in the record's ``data.prepared``):

* ``devkit``: a box is the enclosing box of the tile polygon; difficulty ``1`` and ``2`` (at
  most 0.7 visible) are difficult, i.e. ignored in scoring, as the devkit's
  ``dota_evaluation_task2.py`` does (``difficult`` as bool).
* ``mmrotate``: mmrotate's ``DOTADataset`` (``difficulty=100``) keeps every object as a normal
  one, so nothing is difficult here; its boxes may overhang the tile (the polygons are not
  clipped) and are clipped to the tile by the reader (``clean_annotation``). Its tiles usually
  live in ``<data_root>/dota_mmrotate`` (``dataset.root``).

Official split ``train-val-as-test``: the test server's labels are private, so, as is common,
the val tiles are scored and the train tiles trained on; ``val_fraction`` > 0 carves a val from
train by source image (tiles of one image overlap and must not straddle train and val).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import ClassVar

from rsbench.config import SpecError
from rsbench.data.detection.base import DetAdapter
from rsbench.data.detection.common import Annotation, DetSample
from rsbench.data.detection.dota_raw import parse_raw_objects
from rsbench.data.detection.tiling import source_stem

DOTA_URL = "https://captain-whu.github.io/DOTA/dataset.html"
#: DOTA v1.0 classes in torchgeo 0.8.1's ``DOTA.classes`` order (its first 15).
DOTA_CLASSES = (
    "plane", "ship", "storage-tank", "baseball-diamond", "tennis-court", "basketball-court",
    "ground-track-field", "harbor", "bridge", "large-vehicle", "small-vehicle", "helicopter",
    "roundabout", "soccer-ball-field", "swimming-pool",
)
#: Preparation variants: the reference splitter each reproduces (``prepare``).
DOTA_VARIANTS = ("devkit", "mmrotate")


class DOTAAdapter(DetAdapter):
    """DOTA v1.0 horizontal boxes from DOTA_devkit-split tiles (``dataset.variant: devkit``)."""

    name = "dota"
    title = "DOTA v1.0"
    homepage = DOTA_URL
    classes = DOTA_CLASSES
    official_names = {
        "train-val-as-test": "DOTA v1.0 train tiles as train (val, if any, carved from it by "
                             "source image with the seed), val tiles as test",
    }
    layout = "images/{train,val}/*.png, labels/{train,val}/*.txt and manifest.json"
    #: The preparation variant this reader reads.
    variant: ClassVar[str] = "devkit"
    #: How the folder was prepared (set once the manifest is read; recorded in ``data``).
    prepared: dict | None = None

    def with_variant(self, name: str | None) -> DOTAAdapter:
        """This dataset read as the task's ``dataset.variant`` (None: ``devkit``).

        Raises:
            SpecError: an unknown variant (the message lists the known ones).
        """
        if name is None or name == "devkit":
            return DOTAAdapter()
        if name == "mmrotate":
            return DOTAMMRotateAdapter()
        raise SpecError(f"dataset.variant {name!r}: DOTA has {', '.join(DOTA_VARIANTS)}")

    def how_to_get(self) -> str:
        flag = "" if self.variant == "devkit" else f" --variant {self.variant}"
        return (f"download DOTA v1.0 train and val from {DOTA_URL} and run `rsbench data prepare "
                f"dota{flag} --src RAW --dst <the dataset root>`")

    def manifest(self, root: Path) -> dict:
        """The prepared manifest, checked to be of this reader's variant; sets ``prepared``.

        Raises:
            DatasetNotFound: no manifest, or one written for another variant (the one-line
                message names the manifest and what to run or set instead).
        """
        path = Path(root) / "manifest.json"
        if not path.is_file():
            raise self.not_found(root, "is not prepared (no manifest.json)")
        raw = path.read_bytes()
        manifest = json.loads(raw)
        found = manifest.get("variant")
        if found != self.variant:
            other = (f"or set dataset.variant: {found} in the task" if found in DOTA_VARIANTS
                     else "(it was prepared by an older rsbench)")
            raise self.not_found(
                root, f"holds tiles of variant {found!r} ({path}), the task reads variant "
                      f"{self.variant!r}: run `rsbench data prepare dota --variant "
                      f"{self.variant} --src RAW --dst {root}` {other}")
        self.prepared = {"source": "rsbench data prepare",
                         "manifest_sha256": hashlib.sha256(raw).hexdigest(),
                         "variant": found, "reference": manifest.get("reference"),
                         "parameters": manifest.get("parameters"),
                         "reference_parameters": manifest.get("reference_parameters")}
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
        """A tile's label file (the DOTA format, read as the raw release is: ``dota_raw``) as
        horizontal boxes: each polygon's enclosing box."""
        index = {c: i for i, c in enumerate(self.classes)}
        path = Path(root) / ann_rel
        boxes, labels, difficult = [], [], []
        for coords, name, token in parse_raw_objects(path.read_text(encoding="utf-8"), str(path)):
            xs, ys = coords[0::2], coords[1::2]
            boxes.append([min(xs), min(ys), max(xs), max(ys)])
            labels.append(index[name])
            difficult.append(self.is_difficult(token))
        return Annotation.from_lists(boxes, labels, difficult)

    def group(self, image_rel: str) -> str:
        """Tiles of one source image overlap: a val split is carved by source image."""
        return source_stem(image_rel)


class DOTAMMRotateAdapter(DOTAAdapter):
    """DOTA v1.0 horizontal boxes from mmrotate-split tiles (``dataset.variant: mmrotate``)."""

    title = "DOTA v1.0 (mmrotate tiles)"
    variant = "mmrotate"

    def is_difficult(self, token: str) -> bool:
        """mmrotate's ``DOTADataset(difficulty=100)`` treats every object as a normal one."""
        return int(token) > 100
