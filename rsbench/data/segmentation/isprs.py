"""ISPRS 2D semantic labelling, Potsdam and Vaihingen: the prepared folder and how it is read.

The dataset root is either a folder ``rsbench data prepare`` wrote (``manifest.json`` names its
preparation variant) or one mmseg's converters wrote (no manifest); both hold::

    img_dir/{train,val}/<patch>.png   image patches (RGB or IRRG), names as mmseg's
    ann_dir/{train,val}/<patch>.png   mmseg's stored indices: 0 boundary, 1..6 the six classes

``val`` is the official test tiles (mmseg's name). The task's ``dataset.variant``
(``isprs_variant``) must match the manifest's preparation, else a one-line error says what to
pass; an mmseg folder cannot be checked, so its record says ``variant_verified: false``. Masks
are read through mmseg's ``reduce_zero_label`` (boundary -> 255, class k -> k - 1), the
``5cls`` protocol also ignoring clutter. Tiles are mmseg's converters' train / val lists
(torchgeo's ``Potsdam2D`` / ``Vaihingen2D`` use the same).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import ClassVar

import numpy as np

from rsbench.data.decode import read_array
from rsbench.data.errors import DataError, DatasetNotFound
from rsbench.data.preparation import MANIFEST_FORMAT, refuse_unfinished
from rsbench.data.segmentation.base import SegAdapter
from rsbench.data.segmentation.common import PairSample
from rsbench.data.segmentation.isprs_grid import tile_of
from rsbench.data.segmentation.isprs_raw import ISPRS_URL
from rsbench.data.segmentation.isprs_variant import (
    ISPRS_CLASSES_6,
    ReadVariant,
    index_lut,
    read_variant,
)

__all__ = ["ISPRS_URL", "ISPRSAdapter", "PotsdamAdapter", "VaihingenAdapter"]
FOLDERS = {"train": "train", "test": "val"}


class ISPRSAdapter(SegAdapter):
    """A prepared ISPRS dataset read under one ``ReadVariant`` (see ``with_variant``)."""

    classes = ISPRS_CLASSES_6
    official_name = "mmseg"
    split_note = ("ISPRS official train / test tiles as mmsegmentation's converters list them "
                  "(test = mmseg's val folder); val, if any, carved from train by tile")
    layout = "img_dir/{train,val}/*.png and ann_dir/{train,val}/*.png (manifest.json optional)"
    #: Official tile ids per split (``train``, ``test``).
    tiles: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, variant: ReadVariant | None = None) -> None:
        self.variant = variant
        if variant is not None:
            self.classes = variant.classes
        self.lut = index_lut(variant.protocol if variant else "6cls")
        #: What the record says about the preparation read (filled by ``official``).
        self.prepared: dict = {}

    def with_variant(self, name: str | None) -> ISPRSAdapter:
        """This dataset read as the task's ``dataset.variant`` (required; SpecError if bad)."""
        return type(self)(read_variant(self.name, name))

    def how_to_get(self) -> str:
        return (f"the ISPRS data must be requested by hand at {ISPRS_URL}; extract it and run "
                f"`rsbench data prepare {self.name} --src RAW --dst <data_root>/{self.name}`, "
                f"or use a folder mmseg's converter prepared")

    def official(self, root: Path, download: bool = False) -> dict[str, list[PairSample]]:
        """Patches listed in ``manifest.json`` (never a glob then), else an mmseg folder's."""
        root = Path(root)
        refuse_unfinished(root, self.name)
        if (root / "manifest.json").is_file():
            return self._from_manifest(root)
        if (root / "img_dir" / "train").is_dir():
            return self._from_mmseg_folder(root)
        raise self.not_found(root, "is not prepared (no manifest.json, no img_dir/train)")

    def _from_manifest(self, root: Path) -> dict[str, list[PairSample]]:
        path = root / "manifest.json"
        raw = path.read_bytes()
        manifest = json.loads(raw)
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("dataset") != self.name:
            raise DatasetNotFound(
                f"{path}: {manifest.get('dataset')!r} prepared as {manifest.get('format')!r}, "
                f"not a {self.name} {MANIFEST_FORMAT} preparation; prepare it again with "
                f"`rsbench data prepare {self.name}`")
        prepared_as = manifest["variant"]["name"]
        if self.variant is not None and prepared_as != self.variant.prep.name:
            raise DatasetNotFound(
                f"{path}: prepared as variant {prepared_as!r} but the task reads "
                f"{self.variant.name!r}; prepare with `rsbench data prepare {self.name} "
                f"--variant {self.variant.prep.name} --src RAW --dst DIR` and set dataset.root "
                f"to DIR, or use a task whose dataset.variant starts with {prepared_as}-")
        files = sorted(manifest["files"])
        out = {s: [(rel, "ann_dir" + rel[len("img_dir"):]) for rel in files
                   if rel.startswith(f"img_dir/{folder}/")] for s, folder in FOLDERS.items()}
        self._check_nonempty(root, out)
        self.prepared = {
            "source": "rsbench data prepare", "manifest_sha256": hashlib.sha256(raw).hexdigest(),
            "variant": self._variant_dict(), "variant_verified": True,
            "subset": bool(manifest["subset"]), "patch": manifest["patch"],
            "stride": manifest["stride"], "image_source": manifest["image_source"],
            "label_source": manifest["label_source"]}
        return out

    def _from_mmseg_folder(self, root: Path) -> dict[str, list[PairSample]]:
        if self.variant is not None and self.variant.prep.grid != "mmseg":
            raise self.not_found(root, f"has no manifest.json, so it is taken as mmseg's "
                                       f"converter output, which is not variant "
                                       f"{self.variant.prep.name!r}")
        out: dict[str, list[PairSample]] = {}
        seen: dict[str, set[str]] = {}
        for split, folder in FOLDERS.items():
            images = sorted((root / "img_dir" / folder).glob("*.png"))
            for image in images:
                tile = tile_of(self.name, image.name)
                if tile not in self.tiles[split]:
                    raise self.not_found(root, f"holds img_dir/{folder}/{image.name}, not a "
                                               f"patch of an official {split} tile")
                seen.setdefault(split, set()).add(tile)
            pairs = [(f"img_dir/{folder}/{p.name}", f"ann_dir/{folder}/{p.name}") for p in images]
            out[split] = self.complete_pairs(root, f"img_dir/{folder}", pairs)
        subset = any(len(seen.get(s, ())) < len(self.tiles[s]) for s in FOLDERS)
        self.prepared = {"source": "mmseg converter folder (no manifest.json)",
                         "variant": self._variant_dict(), "variant_verified": False,
                         "subset": subset}
        return out

    def _variant_dict(self) -> dict | None:
        return self.variant.to_dict() if self.variant else None

    def _check_nonempty(self, root: Path, out: dict) -> None:
        for split, pairs in out.items():
            if not pairs:
                raise self.not_found(root, f"has no img_dir/{FOLDERS[split]} patches in its "
                                           f"manifest")

    def read_mask(self, path: Path) -> np.ndarray:
        """A stored label (mmseg's 0..6) as the protocol's indices (``5cls``: clutter 255)."""
        stored = read_array(path)
        if stored.ndim != 2 or ((stored > 6) & (stored != 255)).any():
            raise DataError(f"{path}: not an ISPRS label in mmseg's encoding (single-band, "
                            f"values 0..6), got shape {stored.shape}, max {stored.max()}")
        return self.lut[stored]

    def group(self, image_rel: str) -> str:
        """Patches of one tile are correlated: a val split is carved by tile."""
        return tile_of(self.name, Path(image_rel).name)


class PotsdamAdapter(ISPRSAdapter):
    """ISPRS Potsdam, 5 cm, 24 train / 14 test tiles of 6000 x 6000 (RGB, IRRG or RGBIR)."""

    name = "potsdam"
    title = "ISPRS Potsdam"
    homepage = ISPRS_URL
    tiles = {
        "train": ("2_10", "2_11", "2_12", "3_10", "3_11", "3_12", "4_10", "4_11", "4_12",
                  "5_10", "5_11", "5_12", "6_10", "6_11", "6_12", "6_7", "6_8", "6_9",
                  "7_10", "7_11", "7_12", "7_7", "7_8", "7_9"),
        "test": ("5_15", "6_15", "6_13", "3_13", "4_14", "6_14", "5_14", "2_13", "4_15",
                 "2_14", "5_13", "4_13", "3_14", "7_13"),
    }


class VaihingenAdapter(ISPRSAdapter):
    """ISPRS Vaihingen, 9 cm IRRG, 16 train / 17 test tiles of about 2000 x 2500."""

    name = "vaihingen"
    title = "ISPRS Vaihingen"
    homepage = ISPRS_URL
    tiles = {
        "train": ("1", "3", "5", "7", "11", "13", "15", "17", "21", "23", "26", "28", "30",
                  "32", "34", "37"),
        "test": ("2", "4", "6", "8", "10", "12", "14", "16", "20", "22", "24", "27", "29",
                 "31", "33", "35", "38"),
    }


ISPRS_ADAPTERS: dict[str, type[ISPRSAdapter]] = {"potsdam": PotsdamAdapter,
                                                 "vaihingen": VaihingenAdapter}
