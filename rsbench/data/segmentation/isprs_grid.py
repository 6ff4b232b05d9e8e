"""Where the ISPRS references put patches, what they name them, and how they decode labels.

mmseg's ``clip_big_image`` (tools/dataset_converters/{potsdam,vaihingen}.py) computes a row
count from the stride, ``n = ceil((L - patch) / stride)``, but then places origins at
``k * patch`` for ``k = 0..n`` and pulls any box that overflows back to end at the edge. The
real step is therefore ``patch`` whatever the stride says; the overflowing boxes all collapse
onto ``L - patch`` and are written to the same file name (an 1100 px side at 512 / 256 gives
0, 512, 588; 6000 px gives 12 origins, 144 patches per tile). Names are
``{i}_{j}_{x0}_{y0}_{x1}_{y1}.png`` (Potsdam tile ``i_j``) and ``area{n}_{x0}_{y0}_{x1}_{y1}.png``
(Vaihingen).

Labels: mmseg reads the colour TIFF as BGR and hashes each pixel to ``2B + 3G + 4R``; a pixel
whose hash equals a class colour's hash gets that index (0 boundary/black, 1 impervious, 2
building, 3 low vegetation, 4 tree, 5 car, 6 clutter), any other hash 0. The hash is not
one-to-one: an off-palette colour with a colliding hash takes that class, as in mmseg.

PANGAEA's ``tile_image`` steps ``patch - 128`` px from 0 while a whole patch fits (no edge
patch) and decodes labels by exact colour, an unmatched pixel becoming impervious surface.
"""

from __future__ import annotations

import math

import numpy as np

from rsbench.data.errors import PrepareError

#: RGB colours in mmseg's stored index order (index 0 = eroded boundary / anything unknown).
MMSEG_COLOURS = ((0, 0, 0), (255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0),
                 (255, 255, 0), (255, 0, 0))
#: The stride each grid uses when none is given (mmseg's default flag; PANGAEA 512 - 128).
DEFAULT_STRIDE = {"mmseg": 256, "pangaea": 384}


def mmseg_origins(length: int, patch: int, stride: int) -> list[int]:
    """Distinct patch origins along one side, as mmseg's ``clip_big_image`` writes them.

    e.g. (1100, 512, 256) -> [0, 512, 588]; (1024, 512, 256) -> [0, 512]; (6000, 512, 256)
    -> 0, 512, ..., 5120, 5488. A stride above ``patch`` leaves the far part uncovered, as in
    mmseg (n + 1 boxes of ``patch`` px from 0). ``length < patch`` is refused (mmseg would
    write a partial patch under a negative x0/y0 name).
    """
    _check(length, patch, stride)
    n = math.ceil((length - patch) / stride)
    if n * stride + patch < length:  # never true for positive sizes; kept as mmseg has it
        n += 1
    return sorted({min(k * patch, length - patch) for k in range(n + 1)})


def pangaea_origins(length: int, patch: int, stride: int) -> list[int]:
    """Origins of PANGAEA's ``tile_image``: every ``stride`` px while a whole patch fits."""
    _check(length, patch, stride)
    return list(range(0, length - patch + 1, stride))


def _check(length: int, patch: int, stride: int) -> None:
    if patch <= 0 or stride <= 0:
        raise PrepareError(f"patch and stride must be positive, got {patch} and {stride}")
    if length < patch:
        raise PrepareError(f"a {length} px side is smaller than the {patch} px patch")


ORIGINS = {"mmseg": mmseg_origins, "pangaea": pangaea_origins}


def patch_name(dataset: str, tile: str, x0: int, y0: int, patch: int) -> str:
    """mmseg's file name of the patch at ``(x0, y0)``: x before y, then the far corner."""
    prefix = tile if dataset == "potsdam" else f"area{tile}"
    return f"{prefix}_{x0}_{y0}_{x0 + patch}_{y0 + patch}.png"


def tile_of(dataset: str, file_name: str) -> str:
    """The tile id in a patch name (``2_10_0_0_512_512.png`` -> ``2_10``; ``area1_...`` -> ``1``)."""
    parts = file_name.split("_")
    return "_".join(parts[:2]) if dataset == "potsdam" else parts[0].removeprefix("area")


def _hash(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return 4 * r + 3 * g + 2 * b


def mmseg_label_indices(rgb: np.ndarray) -> np.ndarray:
    """An ``[H, W, 3+]`` RGB colour label as mmseg's stored uint8 indices 0..6 (hash match)."""
    code = _hash(rgb[..., :3])
    out = np.zeros(code.shape, np.uint8)
    for index, colour in enumerate(MMSEG_COLOURS):
        out[code == _hash(np.array(colour))] = index
    return out


def pangaea_label_indices(rgb: np.ndarray) -> np.ndarray:
    """PANGAEA's decoding in the same stored encoding: exact colour -> class + 1, else 1."""
    rgb = rgb[..., :3]
    out = np.ones(rgb.shape[:2], np.uint8)
    for index, colour in enumerate(MMSEG_COLOURS[1:], start=1):
        out[(rgb == np.array(colour, np.uint8)).all(axis=-1)] = index
    return out


LABEL_DECODERS = {"mmseg": mmseg_label_indices, "pangaea": pangaea_label_indices}
