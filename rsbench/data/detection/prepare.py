"""Preparing DOTA v1.0: large images -> 1024 px tiles with horizontal boxes + a sha256 manifest.

Defaults are the DOTA devkit's (``ImgSplit``): tiles of 1024 px with an overlap of 200 (stride
824) and the truncation threshold 0.7 (the devkit writes difficulty ``2`` for such objects;
here they are marked difficult, or dropped with ``truncated="drop"``). An original ``difficult``
1 is kept. The grid, the box clipping and the manifest are ``tiling``'s, shared with xView.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.data.detection.dota import DOTA_CLASSES, DOTAAdapter, parse_dota_txt
from rsbench.data.detection.tiling import check_tiling, cut_tiles, run_jobs, write_manifest
from rsbench.data.errors import DatasetNotFound

RAW_SPLITS = ("train", "val")
LABEL_DIRS = ("labelTxt", "labelTxt-v1.0/labelTxt")
Image.MAX_IMAGE_PIXELS = None  # DOTA images are large but trusted local files


def cut_image(split: str, image_path: Path, label_path: Path, dst: Path, tile: int,
              overlap: int, min_visible: float, truncated: str) -> tuple[dict[str, str], dict]:
    """Write one image's tiles and labels under ``dst``; returns ``({rel: sha256}, facts)``."""
    objects = parse_dota_txt(label_path.read_text(encoding="utf-8", errors="replace"))
    unknown = sorted({name for _, name, _ in objects} - set(DOTA_CLASSES))
    if unknown:
        raise ValueError(f"{label_path}: unknown DOTA v1.0 class(es) {unknown}")
    with Image.open(image_path) as img:
        image = np.asarray(img.convert("RGB"))
    files, facts = cut_tiles(image, objects, image_path.stem, dst, f"images/{split}",
                             f"labels/{split}", tile, overlap, min_visible, truncated)
    return files, {"split": split, **facts}


def raw_dota_files(src: Path) -> list[tuple[str, Path, Path]]:
    """``(split, image, label)`` for every raw image, in split then name order."""
    adapter = DOTAAdapter()
    out = []
    for split in RAW_SPLITS:
        images = sorted((src / split / "images").glob("*.png"))
        label_dir = next((src / split / d for d in LABEL_DIRS if (src / split / d).is_dir()), None)
        if not images or label_dir is None:
            raise DatasetNotFound(
                f"raw {adapter.title} {split} data not found under {src}: expected "
                f"{split}/images/P*.png and {split}/labelTxt/P*.txt (or labelTxt-v1.0/labelTxt); "
                f"download DOTA v1.0 train and val from {adapter.homepage}")
        for image in images:
            label = label_dir / f"{image.stem}.txt"
            if not label.is_file():
                raise DatasetNotFound(f"raw {adapter.title} is incomplete under {src}: no label "
                                      f"{label.relative_to(src)} for {image.relative_to(src)}")
            out.append((split, image, label))
    return out


def prepare_dota(src: Path, dst: Path, tile: int = 1024, overlap: int = 200,
                 min_visible: float = 0.7, truncated: str = "difficult",
                 workers: int = 1) -> dict:
    """Cut the DOTA v1.0 train and val images under ``src`` into labelled tiles under ``dst``.

    Args:
        src: the extracted raw data (see ``dota`` for the layout).
        dst: the prepared dataset root (``<data_root>/dota``); tiles are overwritten.
        tile: tile side in px (devkit: 1024).
        overlap: overlap of neighbouring tiles in px (devkit: 200); ``0 <= overlap < tile``.
        min_visible: visible area fraction below which a cut object is truncated (devkit 0.7).
        truncated: ``"difficult"`` (keep, marked difficult: the devkit's rule) or ``"drop"``.
        workers: processes cutting images in parallel (output is the same for any number).

    Returns:
        A summary: dataset, dst, manifest path and sha256, parameters, image and tile counts.

    Raises:
        ValueError: bad parameters or an unknown class in a label file.
        DatasetNotFound: raw images or labels are missing (says what and where).
    """
    check_tiling(tile, overlap, min_visible, truncated)
    src, dst = Path(src), Path(dst)
    raw = raw_dota_files(src)
    (dst / "manifest.json").unlink(missing_ok=True)
    jobs = [(split, image, label, dst, tile, overlap, min_visible, truncated)
            for split, image, label in raw]
    files: dict[str, str] = {}
    images: dict[str, dict] = {}
    for (split, image, label, *_), (image_files, info) in zip(
            jobs, run_jobs(cut_image, jobs, workers), strict=True):
        files.update(image_files)
        images[f"{split}/{image.stem}"] = {**info, "label_file": label.relative_to(src).as_posix()}
    digest = write_manifest(dst, {
        "dataset": "dota", "tile": tile, "overlap": overlap,
        "min_visible": min_visible, "truncated": truncated, "classes": list(DOTA_CLASSES),
        "note": "horizontal boxes = enclosing box of the polygon clipped to the tile; objects "
                f"with < {min_visible} of their area visible are {truncated!r} (devkit rule)",
        "images": images, "files": files,
    })
    counts = {s: sum(i["n_tiles"] for i in images.values() if i["split"] == s) for s in RAW_SPLITS}
    return {"dataset": "dota", "dst": str(dst), "manifest": str(dst / "manifest.json"),
            "manifest_sha256": digest, "tile": tile,
            "overlap": overlap, "min_visible": min_visible, "truncated": truncated,
            "n_images": len(images), "n_train": counts["train"], "n_val": counts["val"],
            "n_files": len(files)}
