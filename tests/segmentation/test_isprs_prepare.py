"""ISPRS preparation on hand-made tiles: mmseg's names, pixels and label values, by hand.

An 1100 x 700 (H x W) Potsdam tile at 512: ys 0, 512, 588 and xs 0, 188 (mmseg's k * 512 grid,
the overflow pulled back); an exact 1024 x 1536 tile: ys 0, 512, xs 0, 512, 1024.
"""

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from rsbench.config import SpecError
from rsbench.data.segmentation import prepare_isprs

PALETTE = [(255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0),
           (0, 0, 0), (0, 170, 0), (12, 34, 56)]
STORED = [1, 2, 3, 4, 5, 6, 0, 2, 0]  # mmseg's index of each PALETTE colour (2B + 3G + 4R)


def hand_tile(height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(RGBIR image, colour label, expected stored index)`` with 10 px colour blocks."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, len(PALETTE), size=(height // 10 + 1, width // 10 + 1))
    idx = np.kron(blocks, np.ones((10, 10), int))[:height, :width]
    label = np.array(PALETTE, np.uint8)[idx]
    return rng.integers(0, 256, (height, width, 4), np.uint8), label, np.array(STORED)[idx]


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    src = tmp_path_factory.mktemp("raw")
    made = {}
    for seed, (tile, shape) in enumerate({"2_10": (1100, 700), "5_15": (1024, 1536)}.items()):
        image, label, stored = hand_tile(*shape, seed)
        for folder, suffix, arr in (("2_Ortho_RGB", "_RGB", image[..., :3]),
                                    ("3_Ortho_IRRG", "_IRRG", image[..., [3, 0, 1]]),
                                    ("4_Ortho_RGBIR", "_RGBIR", image),
                                    ("5_Labels_all_noBoundary", "_label_noBoundary", label)):
            (src / folder).mkdir(exist_ok=True)
            tifffile.imwrite(src / folder / f"top_potsdam_{tile}{suffix}.tif", arr)
        made[tile] = (image, stored)
    return src, made


def test_names_pixels_and_labels_equal_mmseg(tiles, tmp_path):
    src, made = tiles
    summary = prepare_isprs("potsdam", src, tmp_path / "p", tiles=["2_10", "5_15"])
    assert (summary["n_train"], summary["n_test"], summary["subset"]) == (6, 6, True)
    train = sorted(p.name for p in (tmp_path / "p" / "img_dir" / "train").iterdir())
    assert train == ["2_10_0_0_512_512.png", "2_10_0_512_512_1024.png", "2_10_0_588_512_1100.png",
                     "2_10_188_0_700_512.png", "2_10_188_512_700_1024.png",
                     "2_10_188_588_700_1100.png"]
    val = sorted(p.name for p in (tmp_path / "p" / "img_dir" / "val").iterdir())
    assert val == sorted(f"5_15_{x}_{y}_{x + 512}_{y + 512}.png"
                         for x in (0, 512, 1024) for y in (0, 512))
    image, stored = made["2_10"]
    name = "2_10_188_588_700_1100.png"
    got = np.asarray(Image.open(tmp_path / "p" / "img_dir" / "train" / name))
    ann = np.asarray(Image.open(tmp_path / "p" / "ann_dir" / "train" / name))
    assert np.array_equal(got, image[588:1100, 188:700, :3])
    assert ann.dtype == np.uint8 and np.array_equal(ann, stored[588:1100, 188:700])
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["subset"] is True and sorted(manifest["tiles"]) == ["2_10", "5_15"]


def test_irrg_from_the_irrg_tiles_and_from_rgbir(tiles, tmp_path):
    src, made = tiles
    image = made["5_15"][0]
    prepare_isprs("potsdam", src, tmp_path / "a", variant="irrg-eroded", tiles=["5_15"])
    rgbir_only = tmp_path / "rgbir"
    for folder in ("4_Ortho_RGBIR", "5_Labels_all_noBoundary"):
        (rgbir_only / folder).mkdir(parents=True)
        for f in (src / folder).glob("*5_15*"):
            (rgbir_only / folder / f.name).write_bytes(f.read_bytes())
    summary = prepare_isprs("potsdam", rgbir_only, tmp_path / "b", variant="irrg-eroded",
                            tiles=["5_15"])
    assert summary["image_source"] == "4_Ortho_RGBIR/top_potsdam_<id>_RGBIR.tif (bands 4,1,2)"
    name = "img_dir/val/5_15_1024_512_1536_1024.png"
    for root in ("a", "b"):
        got = np.asarray(Image.open(tmp_path / root / name))
        assert np.array_equal(got, image[512:1024, 1024:1536][..., [3, 0, 1]])
    rgb = prepare_isprs("potsdam", rgbir_only, tmp_path / "c", variant="rgb-eroded",
                        tiles=["5_15"])
    assert rgb["image_source"] == "4_Ortho_RGBIR/top_potsdam_<id>_RGBIR.tif"
    got = np.asarray(Image.open(tmp_path / "c" / name))
    assert np.array_equal(got, image[512:1024, 1024:1536, :3])


def test_pangaea_variant_grid(tiles, tmp_path):
    src, _ = tiles
    full = tmp_path / "src"
    (full / "5_Labels_all").mkdir(parents=True)
    (full / "3_Ortho_IRRG").symlink_to(src / "3_Ortho_IRRG")
    for f in (src / "5_Labels_all_noBoundary").iterdir():
        (full / "5_Labels_all" / f.name.replace("_noBoundary", "")).write_bytes(f.read_bytes())
    summary = prepare_isprs("potsdam", full, tmp_path / "p", variant="pangaea", tiles=["2_10"])
    # 1100 x 700 every 384 while 512 fits: ys 0, 384; xs 0 -> 2 patches
    assert (summary["n_train"], summary["stride"], summary["grid"]) == (2, 384, "pangaea")
    assert sorted(p.name for p in (tmp_path / "p" / "img_dir" / "train").iterdir()) == \
        ["2_10_0_0_512_512.png", "2_10_0_384_512_896.png"]


def test_smaller_tiles_unknown_tiles_and_variants_are_refused(tiles, tmp_path):
    src, _ = tiles
    with pytest.raises(ValueError, match=r"tile 2_10 is 1100 x 700 px, smaller than the 1024"):
        prepare_isprs("potsdam", src, tmp_path / "p", patch=1024, tiles=["2_10"])
    with pytest.raises(ValueError, match="--tiles: 9_9 not official potsdam tile"):
        prepare_isprs("potsdam", src, tmp_path / "p", tiles=["2_10", "9_9"])
    with pytest.raises(SpecError, match=r"no preparation variant 'rgb-eroded' \(Vaihingen images are IRRG only"):
        prepare_isprs("vaihingen", src, tmp_path / "p", variant="rgb-eroded")
    with pytest.raises(SpecError, match="known: rgb-eroded, irrg-eroded, rgb-full"):
        prepare_isprs("potsdam", src, tmp_path / "p", variant="rgb")
