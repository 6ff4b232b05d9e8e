"""mmseg's ISPRS patch grid, names and label hash, and PANGAEA's, by hand from their code.

mmseg ``clip_big_image``: ``n = ceil((L - 512) / stride)``, boxes at ``k * 512`` for
``k = 0..n``, an overflowing box moved to ``L - 512``; duplicates share a file name.
Label: ``2B + 3G + 4R`` of each pixel compared with the hash of each class colour.
"""

import numpy as np
import pytest

from rsbench.data.segmentation.isprs import PotsdamAdapter, VaihingenAdapter
from rsbench.data.segmentation.isprs_grid import (
    mmseg_label_indices,
    mmseg_origins,
    pangaea_label_indices,
    pangaea_origins,
    patch_name,
    tile_of,
)
from rsbench.data.segmentation.isprs_variant import index_lut


def test_mmseg_origins_by_hand():
    # 1100: n = ceil(588 / 256) = 3 -> k*512 = 0, 512, 1024 (-> 588), 1536 (-> 588)
    assert mmseg_origins(1100, 512, 256) == [0, 512, 588]
    assert mmseg_origins(700, 512, 256) == [0, 188]
    assert mmseg_origins(1024, 512, 256) == [0, 512]  # an exact multiple: no pulled-back box
    assert mmseg_origins(1536, 512, 256) == [0, 512, 1024]
    assert mmseg_origins(512, 512, 256) == [0]
    assert mmseg_origins(513, 512, 256) == [0, 1]
    # --stride_size changes only how many k*512 boxes there are: 512 gives the same grid,
    # 1024 leaves the far part of a 6000 px side uncovered (n = 6: k*512 up to 3072).
    assert mmseg_origins(6000, 512, 512) == mmseg_origins(6000, 512, 256)
    assert mmseg_origins(6000, 512, 1024) == [0, 512, 1024, 1536, 2048, 2560, 3072]


def test_a_6000_px_tile_gives_144_patches_and_the_official_counts():
    origins = mmseg_origins(6000, 512, 256)
    assert origins == [*range(0, 5121, 512), 5488] and len(origins) == 12
    per_tile = len(origins) ** 2
    assert per_tile == 144
    # mmseg's docs: 3,456 train / 2,016 val Potsdam patches (every tile is 6000 x 6000).
    assert len(PotsdamAdapter.tiles["train"]) * per_tile == 3456
    assert len(PotsdamAdapter.tiles["test"]) * per_tile == 2016
    assert len(VaihingenAdapter.tiles["train"]) == 16 and len(VaihingenAdapter.tiles["test"]) == 17


def test_tiles_smaller_than_a_patch_are_refused():
    # mmseg would write a 212 x 512 patch named ..._0_-212_512_300.png for a 300 px side.
    with pytest.raises(ValueError, match="300 px side is smaller than the 512 px patch"):
        mmseg_origins(300, 512, 256)
    with pytest.raises(ValueError, match="positive"):
        mmseg_origins(600, 512, 0)


def test_pangaea_origins_drop_the_remainder():
    assert pangaea_origins(1100, 512, 384) == [0, 384]  # 768 + 512 > 1100: no third tile
    assert pangaea_origins(6000, 512, 384) == list(range(0, 5377, 384))  # 15 per side


def test_names_are_mmseg_x_first_then_far_corner():
    assert patch_name("potsdam", "2_10", 188, 588, 512) == "2_10_188_588_700_1100.png"
    assert patch_name("vaihingen", "1", 0, 512, 512) == "area1_0_512_512_1024.png"
    assert tile_of("potsdam", "7_13_0_0_512_512.png") == "7_13"
    assert tile_of("vaihingen", "area38_1_2_513_514.png") == "38"


COLOURS = {  # RGB -> mmseg's stored index, from 2B + 3G + 4R by hand
    (0, 0, 0): 0, (255, 255, 255): 1, (0, 0, 255): 2, (0, 255, 255): 3, (0, 255, 0): 4,
    (255, 255, 0): 5, (255, 0, 0): 6,
    (0, 170, 0): 2,     # 3 * 170 = 510 = building's 2 * 255
    (90, 5, 195): 4,    # 360 + 15 + 390 = 765 = tree's 3 * 255
    (0, 250, 135): 6,   # 750 + 270 = 1020 = clutter's 4 * 255
    (254, 255, 255): 0,  # 2291: no class -> 0 (boundary, ignored)
    (12, 34, 56): 0,    # 262
}


def test_mmseg_label_hash_including_its_collisions():
    rgb = np.array([list(COLOURS)], np.uint8)
    assert mmseg_label_indices(rgb).tolist() == [list(COLOURS.values())]
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 7, np.uint8)], axis=-1)
    assert mmseg_label_indices(rgba).tolist() == [list(COLOURS.values())]


def test_pangaea_label_decoding_exact_colours_unknown_impervious():
    rgb = np.array([list(COLOURS)], np.uint8)
    # stored as class + 1; unknown (black, colliders, off-palette) -> impervious (1)
    assert pangaea_label_indices(rgb).tolist() == [[1, 1, 2, 3, 4, 5, 6, 1, 1, 1, 1, 1]]


def test_read_lut_is_reduce_zero_label_and_5cls_ignores_clutter():
    stored = np.array([0, 1, 2, 3, 4, 5, 6, 255], np.uint8)
    assert index_lut("6cls")[stored].tolist() == [255, 0, 1, 2, 3, 4, 5, 255]
    assert index_lut("5cls")[stored].tolist() == [255, 0, 1, 2, 3, 4, 255, 255]
