"""LoveDA (Wang et al., NeurIPS 2021 D&B) in torchgeo 0.8's on-disk layout.

    <root>/{Train,Val,Test}/{Urban,Rural}/images_png/<id>.png     RGB, 1024 x 1024
    <root>/{Train,Val}/{Urban,Rural}/masks_png/<id>.png           single channel, 0..7

Mask values: 0 = no-data (ignored, 255 here), 1..7 = background, building, road, water, barren,
forest, agriculture (indices 0..6 here); any other value is refused, naming the file. The test
labels are withheld by the benchmark server, so the ``official`` split used here,
``val-as-test``, trains on Train (both domains) and scores on the official Val; a val split, when
asked for, is carved from Train by file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rsbench.data.decode import read_array
from rsbench.data.errors import DataError
from rsbench.data.segmentation.base import SegAdapter
from rsbench.data.segmentation.common import IGNORE_INDEX, PairSample

#: Raw mask value -> index: 0 (no-data) -> 255, 1..7 -> 0..6, anything else -> 255.
MASK_LUT = np.full(256, IGNORE_INDEX, np.uint8)
MASK_LUT[1:8] = np.arange(7, dtype=np.uint8)


class LoveDAAdapter(SegAdapter):
    """LoveDA, both domains (Urban + Rural), 7 classes, 0 = no-data ignored."""

    name = "loveda"
    title = "LoveDA"
    homepage = "https://zenodo.org/records/5706578"
    classes = ("background", "building", "road", "water", "barren", "forest", "agriculture")
    official_name = "val-as-test"
    split_note = ("LoveDA test labels are withheld by its benchmark server: train = official "
                  "Train, test = official Val (Urban + Rural); val, if any, carved from Train")
    layout = "{Train,Val}/{Urban,Rural}/{images_png,masks_png}/<id>.png"
    domains = ("Urban", "Rural")
    #: Our split name -> the official folder it reads.
    folders = {"train": "Train", "test": "Val"}

    def how_to_get(self) -> str:
        return (f"pass download=True (rsbench run --download) to fetch Train.zip and Val.zip "
                f"through torchgeo, or download them from {self.homepage} and extract them there")

    def download(self, root: Path) -> None:
        """Fetch and extract the official Train and Val archives through torchgeo."""
        from torchgeo.datasets import LoveDA

        for folder in self.folders.values():
            LoveDA(root=str(root), split=folder.lower(), download=True)

    def pairs(self, root: Path, folder: str) -> list[PairSample]:
        """``(image, mask)`` pairs under ``root/folder`` (both domains), sorted."""
        out = []
        for domain in self.domains:
            for img in sorted((root / folder / domain / "images_png").glob("*.png")):
                rel = img.relative_to(root).as_posix()
                out.append((rel, rel.replace("/images_png/", "/masks_png/")))
        return sorted(out)

    def official(self, root: Path, download: bool = False) -> dict[str, list[PairSample]]:
        root = Path(root)
        if download and not all(self.pairs(root, f) for f in self.folders.values()):
            self.download(root)
        out = {}
        for split, folder in self.folders.items():
            out[split] = self.complete_pairs(root, folder, self.pairs(root, folder))
        return out

    def read_mask(self, path: Path) -> np.ndarray:
        arr = read_array(path)
        if arr.ndim != 2:
            raise DataError(f"{path}: LoveDA masks are single-channel, got shape {arr.shape}")
        if arr.max(initial=0) > 7:  # the LUT would silently turn it into ignore
            raise DataError(f"{path}: LoveDA mask value {int(arr.max())} is neither no-data (0) "
                            f"nor a class (1..7)")
        return MASK_LUT[arr]
