"""iSAID semantic segmentation over prepared 896 px patches (the iSAID devkit's output).

Layout under the dataset root (as ``iSAID_Devkit/preprocess`` writes patches)::

    {train,val}/images/<scene>_<y0>_<y1>_<x0>_<x1>.png                       RGB patch
    {train,val}/images/<scene>_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png    semantic colours

Masks are RGB-coded per class with iSAID's palette (the one mmsegmentation's converter uses):
background (0, 0, 0) is class 0, the 15 object classes are 1..15, any other colour is ignored
(255). The test labels are withheld, so the ``official`` split here, ``val-as-test``, trains on
train and scores on val (1,411 / 458 scenes); a val split is carved from train by scene.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rsbench.data.segmentation.base import SegAdapter
from rsbench.data.segmentation.common import PairSample, colour_to_index, read_array

MASK_SUFFIX = "_instance_color_RGB.png"
ISAID_CLASSES = ("background", "ship", "storage_tank", "baseball_diamond", "tennis_court",
                 "basketball_court", "ground_track_field", "bridge", "large_vehicle",
                 "small_vehicle", "helicopter", "swimming_pool", "roundabout",
                 "soccer_ball_field", "plane", "harbor")
ISAID_PALETTE: dict[tuple[int, int, int], int] = {
    (0, 0, 0): 0, (0, 0, 63): 1, (0, 63, 63): 2, (0, 63, 0): 3, (0, 63, 127): 4,
    (0, 63, 191): 5, (0, 63, 255): 6, (0, 127, 63): 7, (0, 127, 127): 8, (0, 0, 127): 9,
    (0, 0, 191): 10, (0, 0, 255): 11, (0, 191, 127): 12, (0, 127, 191): 13,
    (0, 127, 255): 14, (0, 100, 155): 15,
}


class ISAIDAdapter(SegAdapter):
    """iSAID semantic masks, 15 classes + background, prepared 896 px patches."""

    name = "isaid"
    title = "iSAID"
    homepage = "https://captain-whu.github.io/iSAID/"
    classes = ISAID_CLASSES
    official_name = "val-as-test"
    split_note = ("iSAID test labels are withheld: train = official train patches, test = "
                  "official val patches; val, if any, carved from train by scene")
    layout = f"{{train,val}}/images/<patch>.png with <patch>{MASK_SUFFIX} beside it"
    folders = {"train": "train", "test": "val"}

    def how_to_get(self) -> str:
        return (f"download iSAID (DOTA-v1.0 images + iSAID masks) from {self.homepage} and cut "
                f"896 px patches into that layout with `rsbench data prepare isaid --src RAW "
                f"--dst <data_root>/isaid` (or the iSAID devkit's preprocess/split.py)")

    def official(self, root: Path, download: bool = False) -> dict[str, list[PairSample]]:
        root = Path(root)
        out = {}
        for split, folder in self.folders.items():
            images = [p for p in sorted((root / folder / "images").glob("*.png"))
                      if not p.name.endswith(("_RGB.png", "_mask.png"))]
            pairs = [(p.relative_to(root).as_posix(),
                      p.with_name(p.stem + MASK_SUFFIX).relative_to(root).as_posix())
                     for p in images]
            out[split] = self.complete_pairs(root, folder, pairs)
        return out

    def read_mask(self, path: Path) -> np.ndarray:
        arr = read_array(path)
        if arr.ndim != 3:
            raise ValueError(f"{path}: iSAID masks are RGB colour-coded, got shape {arr.shape}")
        return colour_to_index(arr, ISAID_PALETTE)

    def group(self, image_rel: str) -> str:
        """Patches of one scene (``P0000_...``) overlap: a val split is carved by scene."""
        return Path(image_rel).name.split("_", 1)[0]
