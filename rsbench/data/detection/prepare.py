"""Preparing DOTA v1.0: large images -> tiles whose pixels and labels are a reference splitter's.

``variant`` names the splitter reproduced (see ``dota_devkit`` and ``dota_mmrotate`` for the
rules, read from their code):

* ``devkit`` (default): DOTA_devkit's ``ImgSplit_multi_process`` at gap 200, subsize 1024,
  thresh 0.7, rate 1: tiles ``<id>__1__<x>___<y>``, clipped polygons, difficulty ``2`` for
  objects with at most 0.7 of their area in the tile; read by tasks with ``dataset.variant:
  devkit`` (or none).
* ``mmrotate``: mmrotate's ``img_split.py`` with its ``ss_*.json``: tiles
  ``<id>__1024__<x>___<y>``, objects under 0.7 visible dropped, the rest unclipped; read by
  tasks with ``dataset.variant: mmrotate`` (the shipped ones: ``dataset.root: dota_mmrotate``).

Prepared layout under ``dst``: ``images/{train,val}/<tile>.png`` (the tile's pixels, the same
as the reference's PNG decodes to), ``labels/{train,val}/<tile>.txt`` (byte for byte the
label file the reference writes) and ``manifest.json`` (variant, reference, parameters,
per-image facts, sha256 per file), all written by the preparation driver
(``rsbench.data.preparation``). ``tile``, ``overlap`` and ``min_visible`` can be changed for
smoke tests, the manifest then saying the parameters are not the reference's; ``tiles`` names
the images to cut (``P0000``), the manifest then saying ``subset: true``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

import rsbench.data.detection.dota_devkit as dota_devkit
import rsbench.data.detection.dota_mmrotate as dota_mmrotate
from rsbench.data.detection.dota import DOTA_CLASSES, DOTA_VARIANTS
from rsbench.data.detection.dota_raw import (
    RAW_SPLITS,
    RawObject,
    parse_raw_objects,
    raw_dota_files,
    read_rgb,
)
from rsbench.data.errors import DataError, PrepareError
from rsbench.data.preparation import (
    MANIFEST,
    choose_units,
    cut_units,
    finish_preparation,
    write_bytes,
    write_png,
)

REFERENCES = {"devkit": dota_devkit, "mmrotate": dota_mmrotate}


def tiles_of(variant: str, image: np.ndarray, objects: list[RawObject], stem: str, tile: int,
             overlap: int, min_visible: float, where: str
             ) -> Iterator[tuple[str, np.ndarray, list[str]]]:
    """``(tile name, pixels, label lines)`` of every tile of one image under ``variant``."""
    height, width = image.shape[:2]
    if variant == "devkit":
        for left, up, right, down in dota_devkit.devkit_tiles(width, height, tile, overlap):
            yield (dota_devkit.devkit_tile_name(stem, left, up),
                   dota_devkit.devkit_pixels(image, left, up, tile),
                   dota_devkit.devkit_tile_lines(objects, left, up, right, down, tile,
                                                 min_visible, where))
    else:
        for x, y in dota_mmrotate.mmrotate_windows(width, height, tile, overlap):
            yield (dota_mmrotate.mmrotate_tile_name(stem, x, y, tile),
                   dota_mmrotate.mmrotate_pixels(image, x, y, tile),
                   dota_mmrotate.mmrotate_tile_lines(objects, x, y, tile, min_visible, where))


def cut_image(variant: str, split: str, image_path: Path, label_path: Path, dst: Path,
              tile: int, overlap: int, min_visible: float) -> tuple[dict[str, str], dict]:
    """Write one image's tiles and label files under ``dst``; returns ``({rel: sha256}, facts)``."""
    objects = parse_raw_objects(label_path.read_text(encoding="utf-8", errors="replace"),
                                str(label_path))
    unknown = sorted({name for _, name, _ in objects} - set(DOTA_CLASSES))
    if unknown:
        raise DataError(f"{label_path}: unknown DOTA v1.0 class(es) {unknown}; DOTA v1.0 has "
                        f"{len(DOTA_CLASSES)} classes (labels of another version?)")
    image = read_rgb(image_path)
    files: dict[str, str] = {}
    n_lines = n_truncated = 0
    for name, pixels, lines in tiles_of(variant, image, objects, image_path.stem, tile, overlap,
                                        min_visible, str(label_path)):
        rel_img, rel_txt = f"images/{split}/{name}.png", f"labels/{split}/{name}.txt"
        files[rel_img] = write_png(dst / rel_img, pixels)
        files[rel_txt] = write_bytes(dst / rel_txt,
                                     "".join(line + "\n" for line in lines).encode("utf-8"))
        n_lines += len(lines)
        n_truncated += sum(line.endswith(" 2") for line in lines)
    height, width = image.shape[:2]
    return files, {"split": split, "height": int(height), "width": int(width),
                   "n_tiles": len(files) // 2, "n_objects": len(objects),
                   "n_tile_objects": n_lines, "n_difficulty_2": n_truncated}


def check_parameters(variant: str, tile: int, overlap: int, min_visible: float) -> None:
    """Raise ``PrepareError`` naming the bad parameter before any file is touched."""
    if variant not in DOTA_VARIANTS:
        raise PrepareError(f"--variant {variant!r}: DOTA has {', '.join(DOTA_VARIANTS)} "
                           f"(default devkit)")
    if tile <= 0 or not 0 <= overlap < tile:
        raise PrepareError(f"need tile > 0 and 0 <= overlap < tile, got {tile} and {overlap}")
    if not 0.0 <= min_visible <= 1.0:
        raise PrepareError(f"min_visible must be in [0, 1], got {min_visible!r}")


def prepare_dota(src: Path, dst: Path, tile: int = 1024, overlap: int = 200,
                 min_visible: float = 0.7, variant: str = "devkit", workers: int = 1,
                 tiles: list[str] | None = None) -> dict:
    """Cut the DOTA v1.0 train and val images under ``src`` into labelled tiles under ``dst``.

    Args:
        src: the extracted raw data (layouts: ``dota_raw``).
        dst: the prepared root (``<data_root>/dota``; the mmrotate tasks read
            ``<data_root>/dota_mmrotate``).
        tile: tile side in px (both references: 1024).
        overlap: overlap of neighbouring tiles in px (the devkit's ``gap``, mmrotate's
            ``gaps``: 200).
        min_visible: visible-area threshold (the devkit's ``thresh``, mmrotate's ``iof_thr``:
            0.7).
        variant: ``devkit`` (default) or ``mmrotate``: the splitter reproduced.
        workers: processes cutting images in parallel (output is the same for any number).
        tiles: image names to cut (``P0000``), for smoke tests (the manifest says ``subset``).

    Returns:
        A summary: dataset, variant, dst, manifest path and sha256, parameters, counts.

    Raises:
        PrepareError: bad parameters, or a name in ``tiles`` that is not a raw image.
        DataError: an unknown class, a damaged label line, or an object the reference cannot
            cut either.
        DatasetNotFound: raw images or labels are missing (says what and where).
        UnreadableImage: a truncated or corrupt image (names it).
    """
    check_parameters(variant, tile, overlap, min_visible)
    src, dst = Path(src), Path(dst)
    raw, subset = choose_units(raw_dota_files(src), tiles, lambda job: job[1].stem,
                               f"raw DOTA v1.0 image(s) under {src}")
    jobs = {f"{split}/{image.stem}": (variant, split, image, label, dst, tile, overlap, min_visible)
            for split, image, label in raw}
    files, images = cut_units(dst, cut_image, jobs, workers, outputs=("images", "labels"))
    for (_, _, label), info in zip(raw, images.values(), strict=True):
        info["label_file"] = label.relative_to(src).as_posix()
    module = REFERENCES[variant]
    parameters = {"tile": tile, "overlap": overlap, "min_visible": min_visible}
    digest = finish_preparation(dst, {
        "dataset": "dota", "variant": variant, "reference": module.REFERENCE,
        "parameters": parameters, "reference_parameters": parameters == module.DEFAULTS,
        "classes": list(DOTA_CLASSES), "images": images, "files": files,
        **({"subset": True} if subset else {}),
    })
    counts = {s: sum(i["n_tiles"] for i in images.values() if i["split"] == s) for s in RAW_SPLITS}
    return {"dataset": "dota", "variant": variant, "dst": str(dst),
            "manifest": str(dst / MANIFEST), "manifest_sha256": digest, **parameters,
            "reference_parameters": parameters == module.DEFAULTS, "n_images": len(images),
            "n_train": counts["train"], "n_val": counts["val"], "n_files": len(files),
            "subset": subset}
