"""``prepare dota`` (default variant) against DOTA_devkit's ``ImgSplit_multi_process`` rules.

Expected values are worked out by hand from the devkit's code (gap 200, subsize 1024, thresh
0.7): the hand-made objects are in ``tests/data/dota/make.py`` (``HAND_P0001`` / ``HAND_P0002``).
"""

from pathlib import Path

import numpy as np
import pytest
from fake_data import generator
from PIL import Image

from rsbench.data.detection.dota_devkit import (
    best_rotation,
    devkit_origins,
    devkit_tile_lines,
    poly5_to_poly4,
)
from rsbench.data.detection.dota_raw import parse_raw_objects
from rsbench.data.detection.prepare import prepare_dota


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, Path, dict]:
    raw = generator("dota").make_hand(tmp_path_factory.mktemp("hand_raw"))
    dst = tmp_path_factory.mktemp("dota")
    return raw, dst, prepare_dota(raw, dst)


def test_origins_follow_the_devkit_loop():
    # left = 0, 824, ...; the first whose tile reaches the edge (>=) moves to W - 1024 and ends
    assert devkit_origins(1300, 1024, 824) == [0, 276]
    assert devkit_origins(900, 1024, 824) == [0]  # max(900 - 1024, 0)
    assert devkit_origins(1024, 1024, 824) == [0]
    assert devkit_origins(1848, 1024, 824) == [0, 824]  # 824 + 1024 == 1848 ends the row
    assert devkit_origins(1849, 1024, 824) == [0, 824, 825]
    assert devkit_origins(2500, 1024, 824) == [0, 824, 1476]


def test_tile_names_and_pixels(prepared):
    raw, dst, summary = prepared
    assert (summary["variant"], summary["n_train"], summary["n_val"]) == ("devkit", 2, 1)
    assert sorted(p.name for p in (dst / "images" / "train").iterdir()) == [
        "P0001__1__0___0.png", "P0001__1__276___0.png"]
    assert [p.name for p in (dst / "images" / "val").iterdir()] == ["P0002__1__0___0.png"]
    big = np.asarray(Image.open(raw / "train" / "images" / "P0001.png"))
    small = np.asarray(Image.open(raw / "val" / "images" / "P0002.png"))
    for name, left, source in (("train/P0001__1__0___0", 0, big),
                               ("train/P0001__1__276___0", 276, big),
                               ("val/P0002__1__0___0", 0, small)):
        tile = np.asarray(Image.open(dst / "images" / f"{name}.png"))
        h, w = source.shape[0], min(1024, source.shape[1] - left)
        assert tile.shape == (1024, 1024, 3)  # padded with zeros to subsize
        assert (tile[:h, :w] == source[:h, left:left + w]).all()
        assert not tile[h:].any() and not tile[:, w:].any()


# Tile x = 0 clips at x <= 1024 (left + subsize) and y <= 899 (H - 1); tile x = 276 at
# x <= 1299 (W - 1) and y <= 899.
TILE_0 = [
    # 24 x 50 of 100 x 50 visible (0.24): clipped rectangle, difficulty 2
    "1000.0 100.0 1024.0 100.0 1024.0 150.0 1000.0 150.0 plane 2",
    # 0.71 > 0.7 keeps its difficulty 1; exactly 0.70 and 0.69 become 2
    "953.0 200.0 1024.0 200.0 1024.0 210.0 953.0 210.0 ship 1",
    "954.0 220.0 1024.0 220.0 1024.0 230.0 954.0 230.0 ship 2",
    "955.0 240.0 1024.0 240.0 1024.0 250.0 955.0 250.0 ship 2",
    # the harbor diamond keeps a triangle (3 corners): dropped
    # the bridge diamond loses its right tip: (1024, 284) (1024, 316) is the shortest of the 5
    # edges (32 px) and becomes its midpoint (1024, 300); 2944 / 3200 visible keeps difficulty 0
    "1000.0 260.0 1024.0 300.0 1000.0 340.0 960.0 300.0 bridge 0",
    # the tennis court is cut by both edges: 6 corners, dropped
    "250.0 700.0 300.0 700.0 300.0 720.0 250.0 720.0 small-vehicle 0",
    # fully inside: no clamping, x stays 0
    "0.0 10.0 30.0 10.0 30.0 40.0 0.0 40.0 large-vehicle 0",
    # coordinates truncated when read (100.7 -> 100, 530.8 -> 530)
    "100.0 500.0 140.0 500.0 140.0 530.0 100.0 530.0 helicopter 1",
    # the zero-area line is never written
]
TILE_276 = [
    "724.0 100.0 824.0 100.0 824.0 150.0 724.0 150.0 plane 0",
    "677.0 200.0 777.0 200.0 777.0 210.0 677.0 210.0 ship 1",
    "678.0 220.0 778.0 220.0 778.0 230.0 678.0 230.0 ship 0",
    "679.0 240.0 779.0 240.0 779.0 250.0 679.0 250.0 ship 0",
    "784.0 450.0 834.0 500.0 784.0 550.0 734.0 500.0 harbor 0",
    "724.0 260.0 764.0 300.0 724.0 340.0 684.0 300.0 bridge 0",
    # cut at y = 899: corners (990,820) (1045,870) (1013.1,899) (969,899) (940,870); the
    # shortest edge (969,899)-(940,870), 41.0 px, becomes (954.5, 884.5); shifted by 276 and
    # truncated: 678, 884. Visible (5250 - 463.05) / 5250 = 0.91: difficulty 0
    "714.0 820.0 769.0 870.0 737.0 899.0 678.0 884.0 tennis-court 0",
    # last column: clipped at W - 1 = 1299, i.e. 1023 in the tile (19 / 20 visible)
    "1004.0 600.0 1023.0 600.0 1023.0 620.0 1004.0 620.0 plane 0",
    # 24 / 50 visible past the left edge x = 276: 0 is clamped to 1, difficulty 2
    "1.0 700.0 24.0 700.0 24.0 720.0 1.0 720.0 small-vehicle 2",
]
# 700 x 500: one tile; its window ends at 699 / 499, so objects touching 700 / 500 are clipped
SMALL = ["680.0 100.0 699.0 100.0 699.0 120.0 680.0 120.0 plane 0",
         "300.0 480.0 340.0 480.0 340.0 499.0 300.0 499.0 ship 0"]


def test_tile_labels_by_hand(prepared):
    _, dst, _ = prepared
    for name, expected in (("train/P0001__1__0___0", TILE_0), ("train/P0001__1__276___0", TILE_276),
                           ("val/P0002__1__0___0", SMALL)):
        assert (dst / "labels" / f"{name}.txt").read_text().splitlines() == expected, name


def test_five_corners_merge_the_shortest_edge():
    pentagon = [0, 0, 10, 0, 10, 10, 6, 12, 0, 10]  # edges 10, 10, 4.47, 6.32, 10
    assert poly5_to_poly4(pentagon) == [0, 0, 10, 0, 8.0, 11.0, 0, 10]
    last = [0, 0, 10, 0, 10, 10, 0, 10, 0, 9]  # shortest: (0,10)-(0,9), 1 px
    assert poly5_to_poly4(last) == [0, 0, 10, 0, 10, 10, 0, 9.5]


def test_best_rotation_starts_nearest_the_object():
    square = [10.0, 0.0, 10.0, 10.0, 0.0, 10.0, 0.0, 0.0]
    assert best_rotation(square, [0, 0, 10, 0, 10, 10, 0, 10]) == [0.0, 0.0, 10.0, 0.0, 10.0,
                                                                   10.0, 0.0, 10.0]


def test_bad_polygons_name_the_file_and_object():
    # an asymmetric bow tie (area 10000, not 0, so the devkit does try to clip it)
    bowtie = parse_raw_objects("900 100 1100 300 1100 100 900 200 plane 0\n")
    with pytest.raises(ValueError, match=r"P9\.txt object 1 \(plane\): self-intersecting"):
        devkit_tile_lines(bowtie, 0, 0, 1024, 1023, 1024, 0.7, "P9.txt")
    assert devkit_tile_lines(bowtie, 0, 0, 800, 800, 1024, 0.7) == []  # not reached
