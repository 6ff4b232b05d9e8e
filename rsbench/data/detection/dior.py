"""DIOR: 23,463 Google Earth images of 800 x 800 px, 20 classes, Pascal VOC XML boxes.

Layout of the official release (extracted under ``<data_root>/dior``)::

    JPEGImages-trainval/<id>.jpg                           ids 00001..11725
    JPEGImages-test/<id>.jpg                               ids 11726..23463
    Annotations/Horizontal Bounding Boxes/<id>.xml         VOC XML (later releases, with DIOR-R)
      or Annotations/<id>.xml                              (the first release)
    ImageSets/Main/{train,val,test}.txt                    one id per line

torchgeo 0.8.1's ``DIOR`` reads its own repackaging (``sample_df.csv``, no test labels), which
cannot score the test split, so rsbench reads the official layout and does not download.

Coordinates: VOC XML stores 1-based inclusive pixel indices. rsbench converts them to 0-based
continuous ``xyxy`` as Detectron2 does for VOC: ``x1 = xmin - 1``, ``y1 = ymin - 1``, ``x2 =
xmax``, ``y2 = ymax`` (a box covering pixels 1..10 is 10 px wide). torchgeo and mmdet 2+ keep
the raw numbers; the difference is under one pixel and does not move AP50.

Class names in the XML vary in case and punctuation (``Expressway-Service-area``); they are
matched after lower-casing and removing everything but letters, against torchgeo's list.

Official splits (``dataset.split.name``):

- ``trainval-test`` (default, the protocol of MTP and most DIOR papers): train.txt + val.txt are
  trained on, test.txt is scored; ``val_fraction`` > 0 carves a seeded val from trainval by
  image (sha256 order, no RNG).
- ``train-val-test``: DIOR's own train.txt / val.txt / test.txt (``val_fraction`` must be 0).
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from rsbench.data.detection.base import DetAdapter
from rsbench.data.detection.common import Annotation, DetSample
from rsbench.data.errors import DataError, found_elsewhere
from rsbench.data.torchgeo_meta import torchgeo_attribute

DIOR_URL = "https://gcheng-nwpu.github.io/#Datasets"
#: torchgeo's ``DIOR.classes``, in its order (read from torchgeo, never copied).
DIOR_CLASSES: tuple[str, ...] = tuple(torchgeo_attribute("torchgeo.datasets:DIOR", "classes"))
ANNOTATION_DIRS = ("Annotations/Horizontal Bounding Boxes", "Annotations")
IMAGE_DIRS = {"train": "JPEGImages-trainval", "val": "JPEGImages-trainval",
              "test": "JPEGImages-test"}


def class_key(name: str) -> str:
    """A class name reduced to lower-case letters (``Expressway-Service-area`` ->
    ``expresswayservicearea``)."""
    return re.sub(r"[^a-z]", "", name.lower())


def parse_voc_xml(path: Path, classes: tuple[str, ...]) -> Annotation:
    """A Pascal VOC XML file as 0-based continuous ``xyxy`` boxes (see the module docstring).

    Raises:
        DataError: an object whose class is not in ``classes`` (names the file and class), or a
            box that is not four numbers.
    """
    index = {class_key(c): i for i, c in enumerate(classes)}
    boxes, labels, difficult = [], [], []
    for obj in ElementTree.parse(path).getroot().iter("object"):
        name = (obj.findtext("name") or "").strip()
        if class_key(name) not in index:
            raise DataError(f"{path}: unknown class {name!r} (known: {', '.join(classes)})")
        xmin, ymin, xmax, ymax = _box(obj, path)
        boxes.append([xmin - 1.0, ymin - 1.0, xmax, ymax])
        labels.append(index[class_key(name)])
        difficult.append((obj.findtext("difficult") or "0").strip() == "1")
    return Annotation.from_lists(boxes, labels, difficult)


def _box(obj: ElementTree.Element, path: Path) -> tuple[float, float, float, float]:
    """An ``<object>``'s ``bndbox`` as read: ``(xmin, ymin, xmax, ymax)``.

    Raises:
        DataError: no ``bndbox``, or a coordinate missing or not a number (names the file).
    """
    bnd = obj.find("bndbox")
    texts = [None if bnd is None else bnd.findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")]
    try:
        xmin, ymin, xmax, ymax = (float(t) for t in texts if t is not None)
    except ValueError:
        raise DataError(f"{path}: an object's bndbox is missing or not four numbers "
                        f"({texts}); extract the annotation again") from None
    return xmin, ymin, xmax, ymax


class DIORAdapter(DetAdapter):
    """DIOR in its official layout (see the module docstring)."""

    name = "dior"
    title = "DIOR"
    homepage = DIOR_URL
    classes = DIOR_CLASSES
    official_names = {
        "trainval-test": "DIOR train.txt + val.txt as train (val, if any, carved from it by "
                         "image with the seed), test.txt as test",
        "train-val-test": "DIOR's own train.txt / val.txt / test.txt",
    }
    layout = ("JPEGImages-trainval/*.jpg, JPEGImages-test/*.jpg, "
              "Annotations/[Horizontal Bounding Boxes/]*.xml and ImageSets/Main/{train,val,test}.txt")

    def how_to_get(self) -> str:
        return (f"download the official release (images, annotations and ImageSets) from "
                f"{DIOR_URL} and extract it there (no automatic download: torchgeo's copy has "
                f"no test labels)")

    def annotation_dir(self, root: Path) -> str:
        """The first annotation folder present (relative to ``root``)."""
        for rel in ANNOTATION_DIRS:
            if (root / rel).is_dir() and any((root / rel).glob("*.xml")):
                return rel
        where = " or ".join(f"{rel}/" for rel in ANNOTATION_DIRS)
        raise self.not_found(root, f"has no annotations in {where}"
                                   f"{found_elsewhere(root, '.xml')}")

    def check_image_dirs(self, root: Path) -> None:
        """Refuse a missing image folder, saying where JPEGs are when they are elsewhere."""
        for rel in sorted(set(IMAGE_DIRS.values())):
            if not (root / rel).is_dir():
                raise self.not_found(root, f"has no {rel}/ folder"
                                           f"{found_elsewhere(root, '.jpg')}")

    def ids(self, root: Path, split: str) -> list[str]:
        """Image ids listed in ``ImageSets/Main/<split>.txt``."""
        path = root / "ImageSets" / "Main" / f"{split}.txt"
        if not path.is_file():
            raise self.not_found(root, f"is missing ImageSets/Main/{split}.txt")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]

    def official(self, root: Path, name: str) -> dict[str, list[DetSample]]:
        root = Path(root)
        if not root.is_dir():
            raise self.not_found(root)
        if (root / "sample_df.csv").is_file() and not (root / "ImageSets").is_dir():
            raise self.not_found(root, "is torchgeo's repackaged copy (sample_df.csv), which has "
                                       "no test labels and no ImageSets")
        ann_dir = self.annotation_dir(root)
        self.check_image_dirs(root)
        parts = {s: [(f"{IMAGE_DIRS[s]}/{i}.jpg", f"{ann_dir}/{i}.xml")
                     for i in self.ids(root, s)] for s in ("train", "val", "test")}
        missing = [p for items in parts.values() for pair in items for p in pair
                   if not (root / p).is_file()]
        if missing:
            raise self.not_found(root, f"is incomplete ({len(missing)} listed files missing, "
                                       f"e.g. {missing[0]})")
        if name == "trainval-test":
            parts = {"train": parts["train"] + parts["val"], "val": [], "test": parts["test"]}
        return {s: sorted(items) for s, items in parts.items()}

    def load_annotation(self, root: Path, image_rel: str, ann_rel: str) -> Annotation:
        return parse_voc_xml(Path(root) / ann_rel, self.classes)
