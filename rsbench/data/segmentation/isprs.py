"""ISPRS 2D semantic labelling: Potsdam and Vaihingen, prepared into patches as mmsegmentation does.

Raw layouts (the ISPRS archives extracted under ``src``; the boundary-eroded labels mmseg
prepares from are preferred when present, else the full ones; the manifest names the file used)::

    potsdam:   2_Ortho_RGB/top_potsdam_<id>_RGB.tif          RGB uint8, 6000 x 6000
               5_Labels_all_noBoundary/top_potsdam_<id>_label_noBoundary.tif   (preferred)
               5_Labels_all/top_potsdam_<id>_label.tif       colour-coded RGB
    vaihingen: top/top_mosaic_09cm_area<n>.tif               IRRG uint8 (kept in that order)
               {gts_eroded_for_participants,.}/top_mosaic_09cm_area<n>_noBoundary.tif (preferred)
               gts_for_participants/top_mosaic_09cm_area<n>.tif   colour-coded RGB

Tiles follow mmsegmentation's ``tools/dataset_converters/{potsdam,vaihingen}.py`` (the same
train/test tile lists torchgeo's ``Potsdam2D``/``Vaihingen2D`` use): 24 / 14 Potsdam tiles and
16 / 17 Vaihingen tiles, each cut into ``patch`` px squares every ``stride`` px, the last row and
column shifted back to end at the tile edge (an 1100 px side at 512 / 256 gives 0, 256, 512,
588). Labels map to the 5-class protocol: impervious surfaces 0, building 1, low vegetation 2,
tree 3, car 4; clutter/background (255, 0, 0), eroded boundaries (0, 0, 0) and any other colour
become 255 (ignored), so mIoU / mF1 / OA are over the five classes with clutter ignored.

Prepared layout (``dst``, the dataset root the reader uses)::

    img_dir/{train,test}/<tile>_<y>_<x>.png   image patch (RGB or IRRG)
    ann_dir/{train,test}/<tile>_<y>_<x>.png   uint8 indices 0..4, 255 ignored
    manifest.json                             parameters, tiles, sha256 of every patch

``rsbench.data.segmentation.prepare.prepare_isprs`` writes it; PNGs carry no metadata and the
manifest has no times or absolute paths, so two people preparing the same raw data get
byte-identical output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np

from rsbench.data.errors import DatasetNotFound
from rsbench.data.segmentation.base import SegAdapter
from rsbench.data.segmentation.common import PairSample, colour_to_index, read_array

ISPRS_URL = "https://www.isprs.org/education/benchmarks/UrbanSemLab/default.aspx"
#: Colour -> index of the 5-class protocol; clutter (255, 0, 0) is absent, hence ignored.
ISPRS_PALETTE: dict[tuple[int, int, int], int] = {
    (255, 255, 255): 0,  # impervious surfaces
    (0, 0, 255): 1,      # building
    (0, 255, 255): 2,    # low vegetation
    (0, 255, 0): 3,      # tree
    (255, 255, 0): 4,    # car
}
ISPRS_CLASSES = ("impervious_surface", "building", "low_vegetation", "tree", "car")


def patch_positions(length: int, patch: int, stride: int) -> list[int]:
    """Start offsets along one axis: every ``stride`` px, the last one ending at the edge.

    ``length <= patch`` gives ``[0]`` (one patch, the whole side). e.g. 1100 / 512 / 256 gives
    ``[0, 256, 512, 588]``, 1024 / 512 / 256 gives ``[0, 256, 512]``.
    """
    if patch <= 0 or stride <= 0:
        raise ValueError(f"patch and stride must be positive, got {patch} and {stride}")
    if length <= patch:
        return [0]
    steps = math.ceil((length - patch) / stride)
    return [min(i * stride, length - patch) for i in range(steps + 1)]


def isprs_label_to_index(rgb: np.ndarray) -> np.ndarray:
    """A colour-coded ISPRS label ``[H, W, 3]`` as uint8 indices 0..4 (clutter and others 255)."""
    return colour_to_index(rgb[..., :3], ISPRS_PALETTE)


def read_tiff(path: Path) -> np.ndarray:
    """A TIFF as ``[H, W, C]`` uint8 (band-sequential files are transposed)."""
    import tifffile

    arr = np.asarray(tifffile.imread(path))
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (3, 4):
        arr = arr.transpose(1, 2, 0)
    if arr.dtype != np.uint8:
        raise ValueError(f"{path}: expected 8-bit pixels, got {arr.dtype}")
    return arr


class ISPRSAdapter(SegAdapter):
    """A prepared ISPRS dataset (see the module docstring); subclasses name tiles and files."""

    classes = ISPRS_CLASSES
    official_name = "mmseg"
    split_note = ("ISPRS official train / test tiles as in mmsegmentation, patches of the "
                  "prepared folder; clutter ignored; val, if any, carved from train by tile")
    layout = "img_dir/{train,test}/*.png, ann_dir/{train,test}/*.png and manifest.json"
    #: Official tile ids per split (``train``, ``test``).
    tiles: ClassVar[dict[str, tuple[str, ...]]] = {}
    image_dir: ClassVar[str] = ""
    label_dirs: ClassVar[tuple[str, ...]] = ()
    #: Where the boundary-eroded ("noBoundary") labels unpack; preferred when present, since
    #: mmsegmentation prepares from them (eroded boundaries are black, hence ignored).
    eroded_label_dirs: ClassVar[tuple[str, ...]] = ()
    default_patch: ClassVar[int] = 512
    default_stride: ClassVar[int] = 256

    def image_name(self, tile: str) -> str:
        raise NotImplementedError

    def label_name(self, tile: str) -> str:
        raise NotImplementedError

    def eroded_label_name(self, tile: str) -> str:
        return self.label_name(tile).replace(".tif", "_noBoundary.tif")

    def label_candidates(self, src: Path, tile: str) -> list[Path]:
        """Label files for ``tile`` in order of preference: eroded (mmseg's) first, then full."""
        return ([src / d / self.eroded_label_name(tile) for d in self.eroded_label_dirs]
                + [src / d / self.label_name(tile) for d in self.label_dirs])

    def how_to_get(self) -> str:
        return (f"the ISPRS data must be requested by hand at {ISPRS_URL}; extract it and run "
                f"`rsbench data prepare {self.name} --src RAW --dst <data_root>/{self.name}`")

    def raw_not_found(self, src: Path, problem: str) -> DatasetNotFound:
        """One line for absent raw data: what is expected where, and that it is requested."""
        return DatasetNotFound(
            f"raw {self.title} data {problem} under {src}: expected "
            f"{self.image_dir}/{self.image_name('<id>')} and "
            f"{{{','.join(self.label_dirs)}}}/{self.label_name('<id>')} for the "
            f"{sum(map(len, self.tiles.values()))} official tiles; ISPRS data must be requested "
            f"by hand at {ISPRS_URL} (no automatic download)")

    def raw_files(self, src: Path) -> dict[str, tuple[Path, Path]]:
        """Tile id -> (image, label) raw paths; all official tiles must be present."""
        out, missing = {}, []
        for tile in [t for split in ("train", "test") for t in self.tiles[split]]:
            image = src / self.image_dir / self.image_name(tile)
            label = next((p for p in self.label_candidates(src, tile) if p.is_file()), None)
            if image.is_file() and label is not None:
                out[tile] = (image, label)
            else:
                missing.append(tile)
        if missing:
            raise self.raw_not_found(src, f"incomplete ({len(missing)} of "
                                          f"{len(missing) + len(out)} tiles missing, e.g. "
                                          f"{missing[0]})" if out else "not found")
        return out

    # -- the prepared folder ------------------------------------------------------------------

    def official(self, root: Path, download: bool = False) -> dict[str, list[PairSample]]:
        """Patches listed in ``manifest.json`` (not a glob: stale files are never picked up)."""
        root = Path(root)
        manifest = root / "manifest.json"
        if not manifest.is_file():
            raise self.not_found(root, "is not prepared (no manifest.json)")
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        out = {}
        for split in ("train", "test"):
            prefix = f"img_dir/{split}/"
            out[split] = [(rel, "ann_dir/" + rel[len("img_dir/"):])
                          for rel in sorted(files) if rel.startswith(prefix)]
            if not out[split]:
                raise self.not_found(root, f"has no {split} patches in its manifest")
        return out

    def read_mask(self, path: Path) -> np.ndarray:
        return read_array(path)

    def group(self, image_rel: str) -> str:
        """Patches of one tile overlap: a val split is carved by tile."""
        return Path(image_rel).stem.rsplit("_", 2)[0]


class PotsdamAdapter(ISPRSAdapter):
    """ISPRS Potsdam, 5 cm RGB, 24 train / 14 test tiles of 6000 x 6000."""

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
    image_dir = "2_Ortho_RGB"
    label_dirs = ("5_Labels_all", ".")
    eroded_label_dirs = ("5_Labels_all_noBoundary", ".")

    def image_name(self, tile: str) -> str:
        return f"top_potsdam_{tile}_RGB.tif"

    def label_name(self, tile: str) -> str:
        return f"top_potsdam_{tile}_label.tif"


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
    image_dir = "top"
    label_dirs = ("gts_for_participants", ".")
    eroded_label_dirs = ("gts_eroded_for_participants",
                         "ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE", ".")

    def image_name(self, tile: str) -> str:
        return f"top_mosaic_09cm_area{tile}.tif"

    def label_name(self, tile: str) -> str:
        return f"top_mosaic_09cm_area{tile}.tif"


ISPRS_ADAPTERS: dict[str, type[ISPRSAdapter]] = {"potsdam": PotsdamAdapter,
                                                 "vaihingen": VaihingenAdapter}
