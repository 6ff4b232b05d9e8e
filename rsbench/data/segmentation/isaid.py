"""iSAID semantic segmentation over 896 px patches in mmsegmentation's prepared layout.

Layout under the dataset root (what ``rsbench data prepare isaid`` and mmsegmentation's
``tools/dataset_converters/isaid.py`` both write)::

    img_dir/{train,val}/<scene>_<y0>_<y1>_<x0>_<x1>.png                       RGB patch
    ann_dir/{train,val}/<scene>_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png    uint8 indices

Despite the suffix, label patches hold class indices (mmseg converts iSAID's colours before
cutting): background 0, the 15 object classes 1..15 in mmseg's ``iSAIDDataset`` order, 255 for
the padding of scenes under 896 px. As in mmseg's iSAID config, background is a class
(``reduce_zero_label`` off), so mIoU is over 16 classes. The test labels are withheld, so the
``official`` split here, ``val-as-test``, trains on train and scores on val (1,411 / 458 scenes);
a val split is carved from train by scene. A folder with ``manifest.json`` is read from its
file list (stale files are never picked up) and its variant recorded; one without is taken as
mmseg's converter output (``variant_verified: false`` in the record).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.errors import DataError, DatasetNotFound
from rsbench.data.preparation import MANIFEST_FORMAT, refuse_unfinished
from rsbench.data.segmentation.base import SegAdapter
from rsbench.data.segmentation.common import IGNORE_INDEX, PairSample

MASK_SUFFIX = "_instance_color_RGB.png"
#: PNG raw modes under 8 bits per pixel: such a label has lost its classes.
LOW_DEPTH = ("P;1", "P;2", "P;4", "L;1", "L;2", "L;4")
ISAID_CLASSES = ("background", "ship", "storage_tank", "baseball_diamond", "tennis_court",
                 "basketball_court", "ground_track_field", "bridge", "large_vehicle",
                 "small_vehicle", "helicopter", "swimming_pool", "roundabout",
                 "soccer_ball_field", "plane", "harbor")
#: iSAID's semantic-mask colours -> class index (mmseg's converter and ``iSAIDDataset``).
ISAID_PALETTE: dict[tuple[int, int, int], int] = {
    (0, 0, 0): 0, (0, 0, 63): 1, (0, 63, 63): 2, (0, 63, 0): 3, (0, 63, 127): 4,
    (0, 63, 191): 5, (0, 63, 255): 6, (0, 127, 63): 7, (0, 127, 127): 8, (0, 0, 127): 9,
    (0, 0, 191): 10, (0, 0, 255): 11, (0, 191, 127): 12, (0, 127, 191): 13,
    (0, 127, 255): 14, (0, 100, 155): 15,
}


def read_index_mask(path: Path, num_classes: int = len(ISAID_CLASSES)) -> np.ndarray:
    """A single-channel label PNG as uint8 ``[H, W]``, values ``0..num_classes-1`` or 255.

    Raises:
        ValueError: a colour (RGB) mask, one stored under 8 bits per pixel, or indices outside
            that range (the message names the file and how to prepare it).
    """
    with Image.open(path) as img:
        if img.mode not in ("L", "P"):
            raise DataError(f"{path}: iSAID label patches hold class indices (mode L or P), "
                            f"got mode {img.mode}; prepare them with `rsbench data prepare "
                            f"isaid`")
        if img.tile and img.tile[0][3] in LOW_DEPTH:
            raise DataError(f"{path}: a {img.tile[0][3]} label cannot hold 16 classes and "
                            f"255; mmseg's isaid.py writes labels so under Pillow 8.4+ "
                            f"(open-mmlab/mmsegmentation#1504): prepare them with `rsbench "
                            f"data prepare isaid`")
        arr = np.asarray(img)  # P mode: the indices themselves, as mmseg's loader reads them
    bad = (arr >= num_classes) & (arr != IGNORE_INDEX)
    if bad.any():
        raise DataError(f"{path}: label value {int(arr[bad][0])} is neither a class "
                        f"(0..{num_classes - 1}) nor ignore ({IGNORE_INDEX})")
    return arr


class ISAIDAdapter(SegAdapter):
    """iSAID semantic masks, 15 classes + background, prepared 896 px patches."""

    name = "isaid"
    title = "iSAID"
    homepage = "https://captain-whu.github.io/iSAID/"
    classes = ISAID_CLASSES
    official_name = "val-as-test"
    split_note = ("iSAID test labels are withheld: train = official train patches, test = "
                  "official val patches; val, if any, carved from train by scene")
    layout = f"img_dir/{{train,val}}/<patch>.png with ann_dir/{{train,val}}/<patch>{MASK_SUFFIX}"
    folders = {"train": "train", "test": "val"}

    def how_to_get(self) -> str:
        return (f"download iSAID (DOTA-v1.0 images + iSAID masks) from {self.homepage} and cut "
                f"896 px patches into that layout with `rsbench data prepare isaid --src RAW "
                f"--dst <data_root>/isaid` (or mmsegmentation's dataset_converters/isaid.py)")

    def __init__(self) -> None:
        #: What the record says about the preparation read (filled by ``official``).
        self.prepared: dict = {}

    def official(self, root: Path, download: bool = False) -> dict[str, list[PairSample]]:
        """Patches listed in ``manifest.json`` (never a glob then), else an mmseg folder's."""
        root = Path(root)
        refuse_unfinished(root, self.name)
        if (root / "manifest.json").is_file():
            images = self._from_manifest(root)
        else:
            images = {s: sorted(p.relative_to(root).as_posix()
                                for p in (root / "img_dir" / folder).glob("*.png"))
                      for s, folder in self.folders.items()}
            self.prepared = {"source": "mmseg converter folder (no manifest.json)",
                             "variant": "mmseg", "variant_verified": False}
        out = {}
        for split, folder in self.folders.items():
            pairs = [(rel, f"ann_dir/{folder}/{Path(rel).stem}{MASK_SUFFIX}")
                     for rel in images[split]]
            out[split] = self.complete_pairs(root, f"img_dir/{folder}", pairs)
            if self.prepared["source"] != "rsbench data prepare":
                read_index_mask(root / pairs[0][1])  # a folder of 1-bit labels fails here
        return out

    def _from_manifest(self, root: Path) -> dict[str, list[str]]:
        """The image patches a ``rsbench data prepare isaid`` manifest lists, by split."""
        path = root / "manifest.json"
        raw = path.read_bytes()
        try:
            manifest = json.loads(raw)
            variant, files = manifest["variant"]["name"], manifest["files"]
        except (ValueError, KeyError, TypeError):
            manifest, variant, files = {}, None, {}
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("dataset") != self.name \
                or variant is None:
            raise DatasetNotFound(f"{path}: not an iSAID {MANIFEST_FORMAT} preparation with a "
                                  f"variant (an older or foreign one); prepare it again with "
                                  f"`rsbench data prepare isaid --src RAW --dst {root}`")
        self.prepared = {"source": "rsbench data prepare",
                         "manifest_sha256": hashlib.sha256(raw).hexdigest(),
                         "variant": variant, "reference": manifest["variant"].get("reference"),
                         "variant_verified": True, "subset": bool(manifest.get("subset")),
                         "patch": manifest.get("patch"), "stride": manifest.get("stride")}
        return {s: sorted(rel for rel in files if rel.startswith(f"img_dir/{folder}/"))
                for s, folder in self.folders.items()}

    def read_mask(self, path: Path) -> np.ndarray:
        return read_index_mask(path)

    def group(self, image_rel: str) -> str:
        """Patches of one scene (``P0000_...``) overlap: a val split is carved by scene."""
        return Path(image_rel).name.split("_", 1)[0]
