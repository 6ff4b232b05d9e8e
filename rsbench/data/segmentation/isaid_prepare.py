"""Preparing iSAID: whole DOTA scenes + colour masks -> mmsegmentation's patches + a manifest.

Raw layout under ``src`` (the iSAID release's zips extracted in place; images from DOTA-v1.0)::

    {train,val}/images/P0000.png                                      RGB scene
    {train,val}/Semantic_masks/images/P0000_instance_color_RGB.png    semantic colours

The only variant, ``mmseg``, reproduces mmsegmentation 1.2.2's
``tools/dataset_converters/isaid.py`` patch for patch (same names, offsets and pixels):

- labels: each palette colour becomes its class index; any other colour becomes 0
  (background), since mmseg's converter starts from zeros. Image and label are then cut alike;
- padding: a side under ``patch`` is padded at the bottom / right to ``patch`` (image 0,
  label 255) only when the other side is not exactly ``patch`` (mmseg's strict comparisons);
- windows: starts ``0, stride, 2 * stride, ... < side``, a window running past the edge pulled
  back to end there; repeats collapse into one file, as mmseg overwrites them. A side still
  under ``patch`` (its other side exactly ``patch``) gets mmseg's negative start, whose name and
  pixels follow Python slicing, e.g. ``P0000_0_896_-196_700`` holding columns 504..699.

Output (the layout ``isaid.ISAIDAdapter`` reads; mmseg writes the same names)::

    img_dir/{train,val}/P0000_<y0>_<y1>_<x0>_<x1>.png                      RGB patch
    ann_dir/{train,val}/P0000_<y0>_<y1>_<x0>_<x1>_instance_color_RGB.png   uint8 indices

Each scene is cut on its own (``cut_scene``) by the preparation driver
(``rsbench.data.preparation``); the manifest holds parameters, the reference reproduced,
per-scene facts and the sha256 of every patch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.config import SpecError
from rsbench.data.errors import DataError, DatasetNotFound, PrepareError
from rsbench.data.preparation import (
    MANIFEST,
    choose_units,
    cut_units,
    finish_preparation,
    write_png,
)
from rsbench.data.segmentation.common import IGNORE_INDEX, colour_to_index
from rsbench.data.segmentation.isaid import ISAID_CLASSES, ISAID_PALETTE, MASK_SUFFIX

HOMEPAGE = "https://captain-whu.github.io/iSAID/"
SPLITS = ("train", "val")
#: Preparation variant -> the reference tool it reproduces (recorded in the manifest).
VARIANTS = {"mmseg": "mmsegmentation 1.2.2 tools/dataset_converters/isaid.py"}
RAW_LAYOUT = (f"{{train,val}}/images/P0000.png (DOTA-v1.0 images) and "
              f"{{train,val}}/Semantic_masks/images/P0000{MASK_SUFFIX} (iSAID semantic masks)")


def raw_not_found(src: Path, problem: str) -> DatasetNotFound:
    """One line: what is wrong, where, the expected raw layout and where to get iSAID."""
    return DatasetNotFound(f"raw iSAID {problem} at {src}: expected {RAW_LAYOUT}; download "
                           f"iSAID (masks) and DOTA-v1.0 (images) from {HOMEPAGE} and extract "
                           f"the zips there")


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
            folder = src / split  # what is there instead, e.g. images extracted under another name
            held = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
            inside = f"; {split}/ holds {', '.join(held)}" if held else ""
            raise raw_not_found(src, f"not found ({split}/images/ has no scenes{inside})")
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
    """A PNG as ``[H, W, 3]`` uint8 (whole DOTA scenes exceed PIL's decompression-bomb limit).

    Raises:
        DatasetNotFound: the file is truncated or not a readable image (one line naming it).
    """
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetNotFound(f"{path}: truncated or corrupt image ({reason}); extract it "
                              f"again from the iSAID / DOTA-v1.0 release") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def padded_size(height: int, width: int, patch: int) -> tuple[int, int]:
    """The scene size after mmseg's padding: a side under ``patch`` grows to ``patch``, unless
    the other side is exactly ``patch`` (mmseg tests ``<`` and ``>``, never ``==``)."""
    if height < patch and width > patch:
        return patch, width
    if height > patch and width < patch:
        return height, patch
    if height < patch and width < patch:
        return patch, patch
    return height, width


def windows(length: int, patch: int, stride: int) -> list[tuple[int, int]]:
    """``(start, end)`` of mmseg's windows along a side of ``length``, repeats dropped.

    A start every ``stride`` px below ``length``; a window past the edge is pulled back to
    ``(length - patch, length)``, e.g. 2000 / 896 / 512 gives starts 0, 512, 1024, 1104.
    """
    if patch <= 0 or stride <= 0:
        raise PrepareError(f"patch and stride must be positive, got {patch} and {stride}")
    out: list[tuple[int, int]] = []
    for start in range(0, length, stride):
        window = (length - patch, length) if start + patch > length else (start, start + patch)
        if window not in out:
            out.append(window)
    return out


def pad_to(arr: np.ndarray, height: int, width: int, value: int) -> np.ndarray:
    """``arr`` padded at the bottom and right to ``height`` x ``width`` with ``value``."""
    extra = [(0, height - arr.shape[0]), (0, width - arr.shape[1])] + [(0, 0)] * (arr.ndim - 2)
    return np.pad(arr, extra, constant_values=value)


def scene_label(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """Class indices of a colour mask (unknown colours -> background 0) and the count of them."""
    label = colour_to_index(rgb, ISAID_PALETTE, unknown=IGNORE_INDEX)
    unknown = label == IGNORE_INDEX
    label[unknown] = 0
    return label, int(unknown.sum())


def cut_scene(split: str, scene: str, image_path: Path, mask_path: Path, dst: Path,
              patch: int, stride: int) -> tuple[dict[str, str], dict]:
    """Write one scene's image and label patches under ``dst/{img_dir,ann_dir}/<split>/``.

    Returns:
        ``({relative path: sha256}, scene facts)``.
    """
    image, rgb = read_rgb(image_path), read_rgb(mask_path)
    if image.shape[:2] != rgb.shape[:2]:
        raise DataError(f"iSAID scene {scene}: image {image.shape[:2]} and mask "
                        f"{rgb.shape[:2]} differ in size ({image_path}, {mask_path})")
    label, unknown = scene_label(rgb)
    height, width = padded_size(image.shape[0], image.shape[1], patch)
    image, label = pad_to(image, height, width, 0), pad_to(label, height, width, IGNORE_INDEX)
    files = {}
    ys, xs = windows(height, patch, stride), windows(width, patch, stride)
    for y0, y1 in ys:
        for x0, x1 in xs:
            # Python slicing, as mmseg's: a negative start counts from the end, clamped at 0.
            stem = f"{scene}_{y0}_{y1}_{x0}_{x1}"
            for rel, arr in ((f"img_dir/{split}/{stem}.png", image),
                             (f"ann_dir/{split}/{stem}{MASK_SUFFIX}", label)):
                files[rel] = write_png(dst / rel, arr[y0:y1, x0:x1])
    info = {"split": split, "height": int(rgb.shape[0]), "width": int(rgb.shape[1]),
            "padded_height": height, "padded_width": width, "n_patches": len(ys) * len(xs),
            "unknown_colour_pixels": unknown}
    return files, info


def chosen_scenes(src: Path, tiles: list[str] | None
                  ) -> tuple[list[tuple[str, str, Path, Path]], bool]:
    """The raw scenes, or only those named in ``tiles``, and whether that is a subset.

    Raises:
        PrepareError: a named scene is not in the raw release.
    """
    return choose_units(raw_scenes(src), tiles, lambda job: job[1],
                        f"iSAID scene(s) under {src}")


def prepare_isaid(src: Path, dst: Path, patch: int = 896, stride: int = 512,
                  workers: int = 1, variant: str | None = None,
                  tiles: list[str] | None = None) -> dict:
    """Cut the raw iSAID scenes under ``src`` into image / label patches under ``dst``.

    Args:
        src: the extracted raw release (layout in the module docstring).
        dst: the prepared dataset root (``<data_root>/isaid``); patches are overwritten.
        patch: patch side in px (mmseg: 896).
        stride: step between window starts in px (mmseg: 896 - 384 overlap = 512).
        workers: processes cutting scenes in parallel (output is the same for any number).
        variant: the reference preparation to reproduce; only ``"mmseg"`` (None: that).
        tiles: scene names to prepare, for smoke tests (the manifest says ``subset``).

    Returns:
        A summary: dataset, dst, manifest path and sha256, patch, stride, scene and patch counts.

    Raises:
        SpecError: an unknown variant (the message lists the known one).
        PrepareError: a non-positive patch or stride, or a scene in ``tiles`` that is not there.
        DataError: an image and mask of different sizes.
        DatasetNotFound: raw scenes or masks are missing, or an image is corrupt.
    """
    variant = variant or "mmseg"
    if variant not in VARIANTS:
        raise SpecError(f"isaid has no preparation variant {variant!r}; known: "
                        f"{', '.join(f'{k} ({v})' for k, v in VARIANTS.items())}")
    windows(patch, patch, stride)  # validates patch and stride
    src, dst = Path(src), Path(dst)
    chosen, subset = chosen_scenes(src, tiles)
    jobs = {f"{split}/{scene}": (split, scene, image, mask, dst, patch, stride)
            for split, scene, image, mask in chosen}
    # *SPLITS: the patches of an older layout ({train,val}/images/) go too
    files, scenes = cut_units(dst, cut_scene, jobs, workers,
                              outputs=("img_dir", "ann_dir", *SPLITS))
    for unit, info in scenes.items():
        info["mask_file"] = Path(jobs[unit][3]).relative_to(src).as_posix()
    digest = finish_preparation(dst, {
        "dataset": "isaid",
        "variant": {"name": variant, "reference": VARIANTS[variant]}, "patch": patch,
        "stride": stride,
        "overlap": patch - stride, "classes": list(ISAID_CLASSES), "ignore_index": IGNORE_INDEX,
        "palette": {f"{r},{g},{b}": i for (r, g, b), i in ISAID_PALETTE.items()},
        "note": "labels are class indices; unknown colours -> 0 (background), padding -> 255",
        "subset": subset,
        "scenes": scenes, "files": files,
    })
    counts = {s: sum(t["n_patches"] for t in scenes.values() if t["split"] == s) for s in SPLITS}
    return {"dataset": "isaid", "dst": str(dst), "manifest": str(dst / MANIFEST),
            "manifest_sha256": digest, "variant": variant,
            "subset": subset,
            "patch": patch, "stride": stride, "n_scenes": len(scenes),
            "n_train": counts["train"], "n_val": counts["val"], "n_files": len(files)}
