"""Preparing xView: ~3000 px train scenes -> 800 px tiles with horizontal boxes + a manifest.

The defaults, and why:

- ``tile`` 800: the shipped xView tasks' ``image_size``. The protocol resizes every sample to a
  square of that side, so a full tile reaches the model unscaled, at the native 0.3 m: a 10-15
  px car stays 10-15 px. DOTA's 1024 would shrink every object by 0.78. The challenge's own
  data utilities (github.com/DIUx-xView/data_utilities: ``wv_util.chip_image``, called with
  300 x 300 chips in ``process_wv.py``) cut non-overlapping 300 px chips; the protocol would
  enlarge those 2.7 times, and without overlap every object on a chip border is cut.
- ``overlap`` 200 (stride 600), the DOTA devkit's: with a stride of ``tile - overlap`` any
  object at most ``overlap`` px wide and high lies whole in at least one tile; 200 px is 60 m on
  the ground, well above the vehicles that make up most xView objects. Larger ones (ships,
  hangars, big buildings) may be cut in every tile; the rule below then applies per tile.
- ``min_visible`` 0.7, cut objects kept as difficult: the devkit's rule (``tiling``). The xView
  utilities keep every clipped part as an ordinary label; a sliver of a car would then be a
  positive no detector can be expected to find, so here it is ignored in scoring instead.

Boxes are first clipped to the scene (some xView bounds run past the image edge), and the
visible fraction is measured against that in-scene part: a box drawn past the border is not
made difficult in every tile it touches. Features with a ``type_id`` outside the 60 classes are
skipped, as by the ``xview`` reader; features naming an image that is not in ``train_images``
are listed in the manifest (``unmatched_image_ids``). The grid and clipping are ``tiling``'s;
workers and manifest the preparation driver's (``rsbench.data.preparation``); ``tiles`` names
the scenes to cut (``104``), the manifest then saying ``subset: true``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from rsbench.data.decode import read_tiff
from rsbench.data.detection.common import Annotation
from rsbench.data.detection.tiling import check_tiling, cut_tiles
from rsbench.data.detection.xview import (
    GEOJSON,
    IMAGE_DIR,
    XVIEW_CLASSES,
    XVIEW_TYPE_IDS,
    XVIEW_URL,
    parse_xview_geojson,
)
from rsbench.data.detection.xview_tiles import TILE_IMAGES, TILE_LABELS
from rsbench.data.errors import DatasetNotFound, found_elsewhere
from rsbench.data.preparation import MANIFEST, choose_units, cut_units, finish_preparation


def scene_objects(ann: Annotation, height: int, width: int) -> tuple[list, int]:
    """``(objects, n_outside)``: boxes clipped to the scene as rectangle polygons, tagged with
    their ``type_id``; boxes with nothing inside the scene are counted, not kept."""
    objects, n_outside = [], 0
    for (x1, y1, x2, y2), label in zip(ann.boxes.tolist(), ann.labels.tolist(), strict=True):
        x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
        y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
        if x2 <= x1 or y2 <= y1:
            n_outside += 1
            continue
        poly = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
        objects.append((poly, str(XVIEW_TYPE_IDS[label]), False))
    return objects, n_outside


def read_scene(path: Path) -> np.ndarray:
    """A scene as ``[H, W, 3]`` uint8 (grey repeated, a fourth band dropped)."""
    arr = read_tiff(path)
    arr = np.repeat(arr[..., None], 3, axis=2) if arr.ndim == 2 else arr[..., :3]
    return np.ascontiguousarray(arr)


def cut_scene(image_path: Path, ann: Annotation, dst: Path, tile: int, overlap: int,
              min_visible: float, truncated: str) -> tuple[dict[str, str], dict]:
    """Write one scene's tiles and labels under ``dst``; returns ``({rel: sha256}, facts)``."""
    image = read_scene(image_path)
    objects, n_outside = scene_objects(ann, *image.shape[:2])
    files, facts = cut_tiles(image, objects, image_path.stem, dst, TILE_IMAGES, TILE_LABELS,
                             tile, overlap, min_visible, truncated)
    return files, {**facts, "n_outside": n_outside}


def raw_xview_files(src: Path) -> list[Path]:
    """The raw scenes in name order; raises one line naming ``src`` and what to do."""
    images = sorted((src / IMAGE_DIR).glob("*.tif"))
    if not images or not (src / GEOJSON).is_file():
        lacks = f"no {IMAGE_DIR}/*.tif{found_elsewhere(src, '.tif')}" if not images else \
            f"no {GEOJSON}{found_elsewhere(src, '.geojson')}"
        raise DatasetNotFound(
            f"raw xView not found under {src} ({lacks}): expected {IMAGE_DIR}/*.tif and "
            f"{GEOJSON}; "
            f"register and download the train images and labels from {XVIEW_URL}, extract "
            f"them there and run `rsbench data prepare xview --src {src} --dst "
            f"<data_root>/xview_tiles`")
    return images


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def prepare_xview(src: Path, dst: Path, tile: int = 800, overlap: int = 200,
                  min_visible: float = 0.7, truncated: str = "difficult",
                  workers: int = 1, tiles: list[str] | None = None) -> dict:
    """Cut the xView train scenes under ``src`` into labelled tiles under ``dst``.

    Args:
        src: the extracted raw data (``train_images/*.tif`` and ``xView_train.geojson``).
        dst: the prepared dataset root (``<data_root>/xview_tiles``); tiles are overwritten.
        tile: tile side in px (800: the tasks' ``image_size``, see the module docstring).
        overlap: overlap of neighbouring tiles in px (200); ``0 <= overlap < tile``.
        min_visible: visible area fraction below which a cut object is truncated (0.7).
        truncated: ``"difficult"`` (keep, marked difficult) or ``"drop"``.
        workers: processes cutting scenes in parallel (output is the same for any number).
        tiles: scene names to cut (``104``), for smoke tests (the manifest says ``subset``).

    Returns:
        A summary: dataset, dst, manifest path and sha256, parameters, scene and tile counts.

    Raises:
        PrepareError: bad parameters, or a name in ``tiles`` that is not a raw scene.
        DatasetNotFound: raw scenes or labels are missing (says where and what to run).
    """
    check_tiling(tile, overlap, min_visible, truncated)
    src, dst = Path(src), Path(dst)
    every = raw_xview_files(src)
    scenes, subset = choose_units(every, tiles, lambda path: path.stem,
                                  f"raw xView scene(s) under {src}")
    index = parse_xview_geojson(src / GEOJSON)
    empty = Annotation.from_lists([], [], [])
    jobs = {path.stem: (path, index.get(path.name, empty), dst, tile, overlap, min_visible,
                        truncated) for path in scenes}
    files, images = cut_units(dst, cut_scene, jobs, workers, outputs=(TILE_IMAGES, TILE_LABELS))
    digest = finish_preparation(dst, {
        "dataset": "xview_tiles", "source": "xview", "tile": tile, "overlap": overlap,
        "min_visible": min_visible, "truncated": truncated, "classes": list(XVIEW_CLASSES),
        "type_ids": list(XVIEW_TYPE_IDS), "label_file": GEOJSON,
        "label_sha256": file_sha256(src / GEOJSON),
        "unmatched_image_ids": sorted(set(index) - {p.name for p in every}),
        "note": "boxes clipped to the scene, then to the tile; objects with < "
                f"{min_visible} of their in-scene area visible are {truncated!r} (DOTA devkit "
                "rule); labels give the xView type_id",
        "images": images, "files": files,
        **({"subset": True} if subset else {}),
    })
    return {"dataset": "xview_tiles", "dst": str(dst), "manifest": str(dst / MANIFEST),
            "manifest_sha256": digest, "tile": tile, "overlap": overlap,
            "min_visible": min_visible, "truncated": truncated, "n_images": len(images),
            "n_tiles": sum(i["n_tiles"] for i in images.values()), "n_files": len(files),
            "subset": subset}
