"""xView: 0.3 m WorldView-3 GeoTIFFs, 60 classes, boxes in one GeoJSON file.

Layout (the xView train images and labels extracted under ``<data_root>/xview``)::

    train_images/<n>.tif         RGB uint8 GeoTIFF (pixels read with tifffile, georeference unused)
    xView_train.geojson          FeatureCollection; each feature's properties carry
                                 ``image_id`` ("<n>.tif"), ``bounds_imcoords`` ("x1,y1,x2,y2",
                                 pixels) and ``type_id`` (xView class id, 11..94)

Labels: the 60 xView ``type_id`` values map to contiguous labels 0..59 in id order
(``XVIEW_TYPE_IDS``, names in ``XVIEW_CLASSES``, from the challenge's ``xview_class_labels.txt``);
features with any other ``type_id`` (the release has a few 75 and 82) are skipped, as in the
common YOLO / MTP conversions. Boxes outside the image are clipped and empty ones dropped.

Split: only the train labels are public, so there is no official val or test. rsbench makes its
own split by image from a seed (``{kind: ratio, train: 0.8, test: 0.2, val_fraction: 0.1,
seed: 0}``: images in ``sha256(seed:path)`` order), writes it as a split file and hashes it;
the split file's ``split.note`` says it is rsbench's own. Every ``train_images/*.tif`` is a
sample (an image without features is a background image).

A whole scene resized to the protocol's 800 px loses most of its small objects, so the shipped
xView tasks read ``xview_tiles`` (``rsbench data prepare xview``) and this reader serves whole
scenes only where that is wanted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from rsbench.data.decode import read_tiff
from rsbench.data.detection.base import DetAdapter
from rsbench.data.detection.common import Annotation, DetSample
from rsbench.data.errors import unreadable

XVIEW_URL = "https://challenge.xviewdataset.org"
GEOJSON = "xView_train.geojson"
IMAGE_DIR = "train_images"
#: xView ``type_id`` -> class name, in id order (label ``i`` is the ``i``-th entry).
XVIEW_NAMES: dict[int, str] = {
    11: "Fixed-wing Aircraft", 12: "Small Aircraft", 13: "Cargo Plane", 15: "Helicopter",
    17: "Passenger Vehicle", 18: "Small Car", 19: "Bus", 20: "Pickup Truck",
    21: "Utility Truck", 23: "Truck", 24: "Cargo Truck", 25: "Truck w/Box",
    26: "Truck Tractor", 27: "Trailer", 28: "Truck w/Flatbed", 29: "Truck w/Liquid",
    32: "Crane Truck", 33: "Railway Vehicle", 34: "Passenger Car", 35: "Cargo Car",
    36: "Flat Car", 37: "Tank car", 38: "Locomotive", 40: "Maritime Vessel", 41: "Motorboat",
    42: "Sailboat", 44: "Tugboat", 45: "Barge", 47: "Fishing Vessel", 49: "Ferry",
    50: "Yacht", 51: "Container Ship", 52: "Oil Tanker", 53: "Engineering Vehicle",
    54: "Tower crane", 55: "Container Crane", 56: "Reach Stacker", 57: "Straddle Carrier",
    59: "Mobile Crane", 60: "Dump Truck", 61: "Haul Truck", 62: "Scraper/Tractor",
    63: "Front loader/Bulldozer", 64: "Excavator", 65: "Cement Mixer", 66: "Ground Grader",
    71: "Hut/Tent", 72: "Shed", 73: "Building", 74: "Aircraft Hangar", 76: "Damaged Building",
    77: "Facility", 79: "Construction Site", 83: "Vehicle Lot", 84: "Helipad",
    86: "Storage Tank", 89: "Shipping container lot", 91: "Shipping Container", 93: "Pylon",
    94: "Tower",
}
XVIEW_TYPE_IDS = tuple(XVIEW_NAMES)
XVIEW_CLASSES = tuple(XVIEW_NAMES.values())


def parse_xview_geojson(path: Path) -> dict[str, Annotation]:
    """``image_id`` -> :class:`Annotation` (xView has no difficult flag: all False).

    Features whose ``type_id`` is not one of the 60 classes, or whose bounds do not parse, are
    skipped.
    """
    label_of = {t: i for i, t in enumerate(XVIEW_TYPE_IDS)}
    per_image: dict[str, tuple[list, list]] = {}
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:  # truncated or not JSON: the file named
        raise unreadable(path, err, "download xView_train.geojson again") from None
    for feature in doc.get("features", []):
        props = feature.get("properties") or {}
        raw_id = props.get("type_id")
        if raw_id is None:
            continue
        try:
            type_id = int(raw_id)
            box = [float(v) for v in str(props.get("bounds_imcoords", "")).split(",")]
        except (TypeError, ValueError):
            continue
        if type_id not in label_of or len(box) != 4:
            continue
        boxes, labels = per_image.setdefault(str(props.get("image_id")), ([], []))
        boxes.append(box)
        labels.append(label_of[type_id])
    return {image: Annotation.from_lists(b, lab, [False] * len(lab))
            for image, (b, lab) in per_image.items()}


class XViewAdapter(DetAdapter):
    """xView train images and labels (see the module docstring); split by ratio."""

    name = "xview"
    title = "xView"
    homepage = XVIEW_URL
    classes = XVIEW_CLASSES
    split_kind = "ratio"
    layout = f"{IMAGE_DIR}/*.tif and {GEOJSON}"
    #: The release has boxes wholly outside their scene; they are dropped as the common
    #: conversions drop them, so the pre-flight check accepts them (``rsbench.data.preflight``).
    boxes_outside_dropped = True

    def __init__(self) -> None:
        self._index: dict[str, dict[str, Annotation]] = {}

    def how_to_get(self) -> str:
        return (f"register and download the train images and labels from {XVIEW_URL} and "
                f"extract them there (no automatic download)")

    def samples(self, root: Path) -> list[DetSample]:
        root = Path(root)
        if not (root / GEOJSON).is_file():
            raise self.not_found(root, f"has no {GEOJSON}" if root.is_dir() else "not found")
        images = sorted(p.name for p in (root / IMAGE_DIR).glob("*.tif"))
        if not images:
            raise self.not_found(root, f"has no {IMAGE_DIR}/*.tif")
        return [(f"{IMAGE_DIR}/{name}", GEOJSON) for name in images]

    def index(self, path: Path) -> dict[str, Annotation]:
        """The parsed GeoJSON at ``path`` (parsed once per adapter)."""
        key = str(path)
        if key not in self._index:
            self._index[key] = parse_xview_geojson(path)
        return self._index[key]

    def load_annotation(self, root: Path, image_rel: str, ann_rel: str) -> Annotation:
        empty = Annotation.from_lists([], [], [])
        return self.index(Path(root) / ann_rel).get(Path(image_rel).name, empty)

    def read_image(self, path: Path) -> torch.Tensor:
        arr = read_tiff(path)
        arr = arr[..., None] if arr.ndim == 2 else arr[..., :3]
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div_(255.0)

    def image_size(self, path: Path) -> tuple[int, int]:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            shape = tif.pages[0].shape
        if len(shape) == 3 and shape[0] in (3, 4) and shape[2] not in (3, 4):
            return int(shape[1]), int(shape[2])
        return int(shape[0]), int(shape[1])
