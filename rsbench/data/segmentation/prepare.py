"""Preparing ISPRS Potsdam / Vaihingen: official tiles -> mmseg's patches + a sha256 manifest.

By default the output equals mmseg's converters' (``isprs_grid``): the same file names under
``img_dir/{train,val}`` and ``ann_dir/{train,val}``, the same pixels, labels as mmseg's stored
indices 0..6 (0 = boundary). ``variant`` selects another named preparation
(``isprs_variant``); ``tiles`` a subset for smoke tests, marked ``subset: true`` in the manifest.
Each tile is cut on its own (``cut_tile``) by the preparation driver (``rsbench.data.preparation``:
workers, the unfinished mark, the manifest written atomically last).
"""

from __future__ import annotations

from pathlib import Path

from rsbench.data.decode import read_tiff
from rsbench.data.errors import DataError, PrepareError
from rsbench.data.preparation import (
    MANIFEST,
    choose_units,
    cut_units,
    finish_preparation,
    write_png,
)
from rsbench.data.segmentation.isprs import ISPRS_ADAPTERS
from rsbench.data.segmentation.isprs_grid import (
    DEFAULT_STRIDE,
    LABEL_DECODERS,
    MMSEG_COLOURS,
    ORIGINS,
    patch_name,
)
from rsbench.data.segmentation.isprs_raw import (
    IMAGE_SOURCES,
    LABEL_SOURCES,
    Source,
    find_source,
    label_hint,
)
from rsbench.data.segmentation.isprs_variant import ISPRS_CLASSES_6, PrepVariant, prep_variant

#: mmseg names its test split ``val``; the prepared folder keeps that name.
SPLIT_FOLDERS = {"train": "train", "test": "val"}


def cut_tile(name: str, split: str, tile: str, image: tuple[Path, tuple[int, ...]],
             label_path: Path, dst: Path, patch: int, stride: int, grid: str
             ) -> tuple[dict[str, str], dict]:
    """Write one tile's image and label patches under ``dst``.

    Returns:
        ``({relative path: sha256}, tile facts)``.

    Raises:
        DataError: too few bands, or image and label differ in size.
        PrepareError: the tile is smaller than ``patch``.
    """
    image_path, channels = image
    pixels = read_tiff(image_path)
    if pixels.ndim != 3 or pixels.shape[2] <= max(channels):
        raise DataError(f"{image_path}: expected at least {max(channels) + 1} bands, got "
                        f"shape {pixels.shape}")
    pixels = pixels[..., list(channels)]
    colours = read_tiff(label_path)
    if pixels.shape[:2] != colours.shape[:2]:
        raise DataError(f"{name} tile {tile}: image {pixels.shape[:2]} and label "
                        f"{colours.shape[:2]} differ in size ({image_path}, {label_path})")
    height, width = pixels.shape[:2]
    if min(height, width) < patch:
        raise PrepareError(f"{name} tile {tile} is {height} x {width} px, smaller than the "
                           f"{patch} px patch ({image_path}); mmseg's converter would write a "
                           f"partial patch under a negative-offset name; pass a smaller --patch")
    label = LABEL_DECODERS[grid](colours)
    folder = SPLIT_FOLDERS[split]
    files = {}
    for y in ORIGINS[grid](height, patch, stride):
        for x in ORIGINS[grid](width, patch, stride):
            stem = patch_name(name, tile, x, y, patch)
            window = (slice(y, y + patch), slice(x, x + patch))
            for kind, arr in (("img_dir", pixels), ("ann_dir", label)):
                rel = f"{kind}/{folder}/{stem}"
                files[rel] = write_png(dst / rel, arr[window])
    info = {"split": split, "height": int(height), "width": int(width),
            "n_patches": len(files) // 2, "boundary_pixels": int((label == 0).sum())}
    return files, info


def select_tiles(name: str, tiles: list[str] | None) -> tuple[list[tuple[str, str]], bool]:
    """``[(split, tile)]`` in the official order, and whether it is a subset."""
    official = ISPRS_ADAPTERS[name].tiles
    every = [(s, t) for s in ("train", "test") for t in official[s]]
    return choose_units(every, tiles, lambda unit: unit[1], f"official {name} tile id(s)")


def raw_sources(name: str, src: Path, variant: PrepVariant, tiles: list[str]
                ) -> tuple[Source, Source]:
    """The image and label sources under ``src`` that hold every tile (or a one-line error)."""
    images = IMAGE_SOURCES[name][variant.bands]
    labels = LABEL_SOURCES[name][variant.labels]
    image = find_source(name, src, images, tiles, f"{variant.bands.upper()} images")
    label = find_source(name, src, labels, tiles, f"{variant.labels} labels",
                        label_hint(name, src, variant.labels, variant.bands))
    return image, label


def prepare_isprs(name: str, src: Path, dst: Path, patch: int = 512, stride: int | None = None,
                  workers: int = 1, variant: str | None = None,
                  tiles: list[str] | None = None) -> dict:
    """Cut the official ISPRS tiles under ``src`` into labelled patches under ``dst``.

    Args:
        name: ``"potsdam"`` or ``"vaihingen"``.
        src: the extracted raw data (layouts in ``isprs_raw``).
        dst: the prepared dataset root (``<data_root>/<name>``); patches are overwritten.
        patch: patch side in px (mmseg: 512).
        stride: mmseg's ``--stride_size`` (default 256; it sets how many ``patch``-spaced
            origins are placed, see ``isprs_grid``), or PANGAEA's step (default 384).
        workers: processes cutting tiles in parallel (output is the same for any number).
        variant: a preparation variant name (``isprs_variant``); None: mmseg's default.
        tiles: official tile ids to prepare (a smoke-test subset; the manifest says so).

    Returns:
        A summary: dataset, variant, manifest path and sha256, grid, tile and patch counts.

    Raises:
        PrepareError: an unknown name or tile id, a bad patch or stride, a tile under ``patch``.
        DataError: a raw tile with too few bands, or image and label of different sizes.
        SpecError: an unknown variant (the message lists the known ones).
        DatasetNotFound: raw tiles missing or in another layout (the message says what differs).
    """
    if name not in ISPRS_ADAPTERS:
        raise PrepareError(f"unknown ISPRS dataset {name!r} (known: {', '.join(ISPRS_ADAPTERS)})")
    prep = prep_variant(name, variant)
    stride = DEFAULT_STRIDE[prep.grid] if stride is None else stride
    if patch <= 0 or stride <= 0:
        raise PrepareError(f"patch and stride must be positive, got {patch} and {stride}")
    src, dst = Path(src), Path(dst)
    chosen, subset = select_tiles(name, tiles)
    image, label = raw_sources(name, src, prep, [t for _, t in chosen])
    jobs = {tile: (name, split, tile, (image.path(src, tile), image.channels),
                   label.path(src, tile), dst, patch, stride, prep.grid)
            for split, tile in chosen}
    files, facts = cut_units(dst, cut_tile, jobs, workers, outputs=("img_dir", "ann_dir"))
    for tile, info in facts.items():
        info.update(image_file=Path(image.path(src, tile)).relative_to(src).as_posix(),
                    label_file=Path(label.path(src, tile)).relative_to(src).as_posix())
    digest = finish_preparation(dst, {
        "dataset": name, "variant": prep.to_dict(),
        "patch": patch, "stride": stride, "subset": subset,
        "image_source": image.describe(), "label_source": label.describe(),
        "label_encoding": {"0": "boundary / unknown colour",
                           **{str(i + 1): c for i, c in enumerate(ISPRS_CLASSES_6)}},
        "palette": {f"{r},{g},{b}": i for i, (r, g, b) in enumerate(MMSEG_COLOURS)},
        "split_folders": SPLIT_FOLDERS, "tiles": facts, "files": files,
    })
    counts = {s: sum(t["n_patches"] for t in facts.values() if t["split"] == s)
              for s in ("train", "test")}
    return {"dataset": name, "variant": prep.name, "subset": subset, "dst": str(dst),
            "manifest": str(dst / MANIFEST), "manifest_sha256": digest, "patch": patch,
            "stride": stride, "grid": prep.grid, "image_source": image.describe(),
            "label_source": label.describe(), "n_tiles": len(facts),
            "n_train": counts["train"], "n_test": counts["test"], "n_files": len(files)}
