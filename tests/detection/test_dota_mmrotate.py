"""``prepare dota --variant mmrotate`` against mmrotate's ``img_split.py`` with ``ss_*.json``.

Expected values are worked out by hand from mmrotate's code (sizes 1024, gaps 200, iof_thr
0.7, padding (104, 116, 124) in BGR) on the objects of ``tests/data/dota/make.py``.
"""

from pathlib import Path

import numpy as np
import pytest
from fake_data import generator
from PIL import Image

from rsbench.data.detection.dota_mmrotate import mmrotate_windows, window_starts
from rsbench.data.detection.prepare import prepare_dota


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, Path, dict]:
    raw = generator("dota").make_hand(tmp_path_factory.mktemp("hand_raw"))
    dst = tmp_path_factory.mktemp("dota_mmrotate")
    return raw, dst, prepare_dota(raw, dst, variant="mmrotate")


def test_window_starts():
    # ceil((W - 1024) / 824 + 1) starts, the last moved back to W - 1024 when it overhangs
    assert window_starts(1300, 1024, 824) == [0, 276]
    assert window_starts(900, 1024, 824) == [0]
    assert window_starts(1848, 1024, 824) == [0, 824]
    assert window_starts(1849, 1024, 824) == [0, 824, 825]
    # a 3000 x 500 image: every window has the same in-image share 500 / 1024 < 0.6, so the
    # img_rate_thr fallback keeps them all
    assert mmrotate_windows(3000, 500, 1024, 200) == [(0, 0), (824, 0), (1648, 0), (1976, 0)]


def test_tile_names_and_pixels(prepared):
    raw, dst, summary = prepared
    assert (summary["variant"], summary["n_train"], summary["n_val"]) == ("mmrotate", 2, 1)
    assert sorted(p.name for p in (dst / "images" / "train").iterdir()) == [
        "P0001__1024__0___0.png", "P0001__1024__276___0.png"]
    big = np.asarray(Image.open(raw / "train" / "images" / "P0001.png"))
    small = np.asarray(Image.open(raw / "val" / "images" / "P0002.png"))
    for name, left, source in (("train/P0001__1024__0___0", 0, big),
                               ("train/P0001__1024__276___0", 276, big),
                               ("val/P0002__1024__0___0", 0, small)):
        tile = np.asarray(Image.open(dst / "images" / f"{name}.png"))
        h, w = source.shape[0], min(1024, source.shape[1] - left)
        assert tile.shape == (1024, 1024, 3)
        assert (tile[:h, :w] == source[:h, left:left + w]).all()
        # BGR padding value [104, 116, 124] is RGB (124, 116, 104)
        assert (tile[h:] == (124, 116, 104)).all() and (tile[:, w:] == (124, 116, 104)).all()


# Window x = 0 is [0, 1024] x [0, 1024] (it overhangs the 900 px image); kept objects are not
# clipped, and a cut one (iof < 1) gets difficulty 2.
WINDOW_0 = [
    # the 100 x 50 plane, 0.24 inside: dropped; 0.71 and exactly 0.70 kept (>=), 0.69 dropped
    "953.0 200.0 1053.0 200.0 1053.0 210.0 953.0 210.0 ship 2",
    "954.0 220.0 1054.0 220.0 1054.0 230.0 954.0 230.0 ship 2",
    # harbor: a sliver, dropped; bridge: (3200 - 256) / 3200 = 0.92 inside, kept whole
    "1000.0 260.0 1040.0 300.0 1000.0 340.0 960.0 300.0 bridge 2",
    # tennis court: only x > 1024 is outside (the window reaches y = 1024): 0.92, kept whole
    "990.0 820.0 1045.0 870.0 990.0 920.0 940.0 870.0 tennis-court 2",
    "250.0 700.0 300.0 700.0 300.0 720.0 250.0 720.0 small-vehicle 0",
    "0.0 10.0 30.0 10.0 30.0 40.0 0.0 40.0 large-vehicle 0",
    # coordinates kept as read (float32), not truncated
    "100.7 500.2 140.9 500.2 140.9 530.8 100.7 530.8 helicopter 1",
]
WINDOW_276 = [
    "724.0 100.0 824.0 100.0 824.0 150.0 724.0 150.0 plane 0",
    "677.0 200.0 777.0 200.0 777.0 210.0 677.0 210.0 ship 1",
    "678.0 220.0 778.0 220.0 778.0 230.0 678.0 230.0 ship 0",
    "679.0 240.0 779.0 240.0 779.0 250.0 679.0 250.0 ship 0",
    "784.0 450.0 834.0 500.0 784.0 550.0 734.0 500.0 harbor 0",
    "724.0 260.0 764.0 300.0 724.0 340.0 684.0 300.0 bridge 0",
    "714.0 820.0 769.0 870.0 714.0 920.0 664.0 870.0 tennis-court 0",
    # last column: the window ends at 1300, so the object is whole (x up to 1024 in the tile)
    "1004.0 600.0 1024.0 600.0 1024.0 620.0 1004.0 620.0 plane 0",
    # the small vehicle across x = 276 is 0.48 inside: dropped
]
SMALL = ["680.0 100.0 700.0 100.0 700.0 120.0 680.0 120.0 plane 0",
         "300.0 480.0 340.0 480.0 340.0 500.0 300.0 500.0 ship 0"]


def test_tile_labels_by_hand(prepared):
    _, dst, _ = prepared
    for name, expected in (("train/P0001__1024__0___0", WINDOW_0),
                           ("train/P0001__1024__276___0", WINDOW_276),
                           ("val/P0002__1024__0___0", SMALL)):
        assert (dst / "labels" / f"{name}.txt").read_text().splitlines() == expected, name
