"""Preparing ISPRS Potsdam / Vaihingen: official tiles -> patches + a sha256 manifest.

Each tile is cut independently (``cut_tile``), optionally in worker processes; the manifest is
assembled in tile-list order and written atomically last, after the old one is removed, so a
folder whose preparation was interrupted reads as unprepared. The manifest holds parameters,
per-tile facts and the sha256 of every patch, and neither times nor absolute paths: preparing
the same raw data anywhere gives the same bytes. See ``isprs`` for layouts and label mapping.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rsbench.data.segmentation.common import IGNORE_INDEX, write_png
from rsbench.data.segmentation.isprs import (
    ISPRS_ADAPTERS,
    ISPRS_PALETTE,
    isprs_label_to_index,
    patch_positions,
    read_tiff,
)
from rsbench.results.atomic import atomic_write_bytes

MANIFEST_FORMAT = "rsbench-prepared/1"


def cut_tile(name: str, split: str, tile: str, image_path: Path, label_path: Path, dst: Path,
             patch: int, stride: int) -> tuple[dict[str, str], dict]:
    """Write one tile's image and label patches under ``dst``.

    Returns:
        ``({relative path: sha256}, tile facts)``; patches are named
        ``{img_dir,ann_dir}/<split>/<tile>_<y:05d>_<x:05d>.png``.
    """
    image = read_tiff(image_path)[..., :3]
    rgb = read_tiff(label_path)
    if image.shape[:2] != rgb.shape[:2]:
        raise ValueError(f"{name} tile {tile}: image {image.shape[:2]} and label "
                         f"{rgb.shape[:2]} differ in size ({image_path}, {label_path})")
    label = isprs_label_to_index(rgb)
    ys = patch_positions(image.shape[0], patch, stride)
    xs = patch_positions(image.shape[1], patch, stride)
    files = {}
    for y in ys:
        for x in xs:
            stem = f"{tile}_{y:05d}_{x:05d}.png"
            window = (slice(y, y + patch), slice(x, x + patch))
            for kind, arr in (("img_dir", image), ("ann_dir", label)):
                rel = f"{kind}/{split}/{stem}"
                files[rel] = write_png(dst / rel, arr[window])
    info = {"split": split, "height": int(image.shape[0]), "width": int(image.shape[1]),
            "n_patches": len(ys) * len(xs), "ignored_pixels": int((label == IGNORE_INDEX).sum())}
    return files, info


def prepare_isprs(name: str, src: Path, dst: Path, patch: int = 512, stride: int = 256,
                  workers: int = 1) -> dict:
    """Cut the official ISPRS tiles under ``src`` into labelled patches under ``dst``.

    Args:
        name: ``"potsdam"`` or ``"vaihingen"``.
        src: the extracted raw data (see ``isprs`` for the layout).
        dst: the prepared dataset root (``<data_root>/<name>``); patches are overwritten.
        patch: patch side in px (mmseg: 512).
        stride: step between patch origins in px (mmseg: 256); the last ends at the edge.
        workers: processes cutting tiles in parallel (output is the same for any number).

    Returns:
        A summary: dataset, dst, manifest path and sha256, patch, stride, tile and patch counts.

    Raises:
        ValueError: an unknown name, or a non-positive patch or stride.
        DatasetNotFound: raw tiles are missing (the message says they must be requested).
    """
    if name not in ISPRS_ADAPTERS:
        raise ValueError(f"unknown ISPRS dataset {name!r} (known: {', '.join(ISPRS_ADAPTERS)})")
    patch_positions(patch, patch, stride)  # validates patch and stride
    adapter = ISPRS_ADAPTERS[name]()
    src, dst = Path(src), Path(dst)
    raw = adapter.raw_files(src)
    (dst / "manifest.json").unlink(missing_ok=True)
    jobs = [(name, split, tile, *raw[tile], dst, patch, stride)
            for split in ("train", "test") for tile in adapter.tiles[split]]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(cut_tile, *zip(*jobs, strict=True)))
    else:
        results = [cut_tile(*job) for job in jobs]
    files: dict[str, str] = {}
    tiles: dict[str, dict] = {}
    for job, (tile_files, info) in zip(jobs, results, strict=True):
        files.update(tile_files)
        tiles[job[2]] = {**info, "label_file": Path(job[4]).relative_to(src).as_posix()}
    manifest = {
        "format": MANIFEST_FORMAT, "dataset": name, "patch": patch, "stride": stride,
        "classes": list(adapter.classes), "ignore_index": IGNORE_INDEX,
        "palette": {f"{r},{g},{b}": i for (r, g, b), i in ISPRS_PALETTE.items()},
        "note": "clutter (255,0,0), boundary (0,0,0) and unknown colours -> ignore_index",
        "tiles": tiles, "files": files,
    }
    data = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")
    atomic_write_bytes(dst / "manifest.json", data)
    counts = {s: sum(t["n_patches"] for t in tiles.values() if t["split"] == s)
              for s in ("train", "test")}
    return {"dataset": name, "dst": str(dst), "manifest": str(dst / "manifest.json"),
            "manifest_sha256": hashlib.sha256(data).hexdigest(), "patch": patch,
            "stride": stride, "n_tiles": len(tiles), "n_train": counts["train"],
            "n_test": counts["test"], "n_files": len(files)}
