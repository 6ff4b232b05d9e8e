"""Preparing iSAID: whole DOTA scenes + colour masks -> 896 px patches + a sha256 manifest.

Raw layout under ``src`` (the iSAID release, images from DOTA-v1.0)::

    {train,val}/images/P0000.png                                      RGB scene
    {train,val}/Semantic_masks/images/P0000_instance_color_RGB.png    semantic colours

Each scene is cut like mmsegmentation's ``tools/dataset_converters/isaid.py`` (patch 896,
overlap 384, so stride 512, the last patch of a row/column flush with the edge; a side shorter
than the patch gives one smaller patch) into the layout ``isaid.ISAIDAdapter`` reads::

    {train,val}/images/P0000_<y0>_<y1>_<x0>_<x1>.png                      RGB patch
    {train,val}/images/P0000_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png    colours, unchanged

Masks stay colour-coded (the reader maps colours to classes). As for ISPRS (``prepare``): scenes
are cut independently, optionally in worker processes; the manifest (parameters, per-scene facts,
sha256 of every patch, no times or absolute paths) is written atomically last, after the old one
is removed, and patches the old manifest listed are deleted first, so a re-preparation with other
parameters leaves no stale patches for the reader's glob.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from rsbench.data.errors import DatasetNotFound
from rsbench.data.segmentation.common import IGNORE_INDEX, colour_to_index, write_png
from rsbench.data.segmentation.isaid import ISAID_CLASSES, ISAID_PALETTE, MASK_SUFFIX
from rsbench.data.segmentation.isprs import patch_positions
from rsbench.data.segmentation.prepare import MANIFEST_FORMAT
from rsbench.results.atomic import atomic_write_bytes

HOMEPAGE = "https://captain-whu.github.io/iSAID/"
SPLITS = ("train", "val")
RAW_LAYOUT = (f"{{train,val}}/images/P0000.png (DOTA-v1.0 images) and "
              f"{{train,val}}/Semantic_masks/images/P0000{MASK_SUFFIX} (iSAID semantic masks)")


def raw_not_found(src: Path, problem: str) -> DatasetNotFound:
    """One line: what is wrong, where, the expected raw layout and where to get iSAID."""
    return DatasetNotFound(f"raw iSAID {problem} at {src}: expected {RAW_LAYOUT}; download "
                           f"iSAID (masks) and DOTA-v1.0 (images) from {HOMEPAGE}")


def raw_scenes(src: Path) -> list[tuple[str, str, Path, Path]]:
    """``(split, scene, image, mask)`` for every raw scene, by split then scene name.

    Raises:
        DatasetNotFound: a split has no scenes, or some scene has no mask.
    """
    out, missing = [], []
    for split in SPLITS:
        images = [p for p in sorted((src / split / "images").glob("*.png"))
                  if not p.name.endswith(("_RGB.png", "_mask.png"))]
        if not images:
            raise raw_not_found(src, f"not found ({split}/images/ has no scenes)")
        for image in images:
            mask = src / split / "Semantic_masks" / "images" / f"{image.stem}{MASK_SUFFIX}"
            if mask.is_file():
                out.append((split, image.stem, image, mask))
            else:
                missing.append(mask.relative_to(src).as_posix())
    if missing:
        raise raw_not_found(src, f"is incomplete ({len(missing)} of {len(missing) + len(out)} "
                                 f"masks missing, e.g. {missing[0]})")
    return out


def read_rgb(path: Path) -> np.ndarray:
    """A PNG as ``[H, W, 3]`` uint8 (whole DOTA scenes exceed PIL's decompression-bomb limit)."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def cut_scene(split: str, scene: str, image_path: Path, mask_path: Path, dst: Path,
              patch: int, stride: int) -> tuple[dict[str, str], dict]:
    """Write one scene's image and mask patches under ``dst/<split>/images/``.

    Returns:
        ``({relative path: sha256}, scene facts)``; patches are named
        ``<scene>_<y0>_<y1>_<x0>_<x1>.png`` and ``..._instance_color_RGB.png`` (end-exclusive).
    """
    image = read_rgb(image_path)
    mask = read_rgb(mask_path)
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f"iSAID scene {scene}: image {image.shape[:2]} and mask "
                         f"{mask.shape[:2]} differ in size ({image_path}, {mask_path})")
    height, width = image.shape[:2]
    ys = patch_positions(height, patch, stride)
    xs = patch_positions(width, patch, stride)
    files = {}
    for y in ys:
        y1 = min(y + patch, height)
        for x in xs:
            x1 = min(x + patch, width)
            stem = f"{split}/images/{scene}_{y}_{y1}_{x}_{x1}"
            files[f"{stem}.png"] = write_png(dst / f"{stem}.png", image[y:y1, x:x1])
            files[f"{stem}{MASK_SUFFIX}"] = write_png(dst / f"{stem}{MASK_SUFFIX}",
                                                      mask[y:y1, x:x1])
    info = {"split": split, "height": int(height), "width": int(width),
            "n_patches": len(ys) * len(xs),
            "ignored_pixels": int((colour_to_index(mask, ISAID_PALETTE) == IGNORE_INDEX).sum())}
    return files, info


def remove_listed(dst: Path) -> None:
    """Delete the patches an earlier ``manifest.json`` under ``dst`` lists, then the manifest."""
    manifest = dst / "manifest.json"
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        except (ValueError, AttributeError):
            files = {}
        for rel in files if isinstance(files, dict) else ():
            parts = PurePosixPath(rel).parts
            if parts and parts[0] in SPLITS and ".." not in parts:
                (dst / rel).unlink(missing_ok=True)
    manifest.unlink(missing_ok=True)


def prepare_isaid(src: Path, dst: Path, patch: int = 896, stride: int = 512,
                  workers: int = 1) -> dict:
    """Cut the raw iSAID scenes under ``src`` into image / colour-mask patches under ``dst``.

    Args:
        src: the extracted raw release (layout in the module docstring).
        dst: the prepared dataset root (``<data_root>/isaid``); patches are overwritten.
        patch: patch side in px (mmseg: 896).
        stride: step between patch origins in px (mmseg: 896 - 384 overlap = 512).
        workers: processes cutting scenes in parallel (output is the same for any number).

    Returns:
        A summary: dataset, dst, manifest path and sha256, patch, stride, scene and patch counts.

    Raises:
        ValueError: a non-positive patch or stride, or an image and mask of different sizes.
        DatasetNotFound: raw scenes or masks are missing (says what, where, and where to get it).
    """
    patch_positions(patch, patch, stride)  # validates patch and stride
    src, dst = Path(src), Path(dst)
    jobs = [(split, scene, image, mask, dst, patch, stride)
            for split, scene, image, mask in raw_scenes(src)]
    remove_listed(dst)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(cut_scene, *zip(*jobs, strict=True)))
    else:
        results = [cut_scene(*job) for job in jobs]
    files: dict[str, str] = {}
    scenes: dict[str, dict] = {}
    for job, (scene_files, info) in zip(jobs, results, strict=True):
        files.update(scene_files)
        scenes[f"{job[0]}/{job[1]}"] = {**info,
                                        "mask_file": Path(job[3]).relative_to(src).as_posix()}
    manifest = {
        "format": MANIFEST_FORMAT, "dataset": "isaid", "patch": patch, "stride": stride,
        "classes": list(ISAID_CLASSES), "ignore_index": IGNORE_INDEX,
        "palette": {f"{r},{g},{b}": i for (r, g, b), i in ISAID_PALETTE.items()},
        "note": "masks stay colour-coded; colours outside the palette -> ignore_index on read",
        "scenes": scenes, "files": files,
    }
    data = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")
    atomic_write_bytes(dst / "manifest.json", data)
    counts = {s: sum(t["n_patches"] for t in scenes.values() if t["split"] == s) for s in SPLITS}
    return {"dataset": "isaid", "dst": str(dst), "manifest": str(dst / "manifest.json"),
            "manifest_sha256": hashlib.sha256(data).hexdigest(), "patch": patch,
            "stride": stride, "n_scenes": len(scenes), "n_train": counts["train"],
            "n_val": counts["val"], "n_files": len(files)}
