"""Preparing iSAID as mmsegmentation's ``tools/dataset_converters/isaid.py`` does (hand-made scenes).

Expected names, offsets and pixels are worked out by hand from the converter's rules: pad a side
under the patch (image 0, label 255) unless the other side is exactly the patch; window starts
every stride below the (padded) side, a window past the edge pulled back to end there; Python
slicing for the negative start of an unpadded short side; unknown colours -> background 0.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from fake_data import generator
from PIL import Image

from rsbench.cli import main
from rsbench.config import DatasetSpec, SpecError
from rsbench.data import DatasetNotFound
from rsbench.data.segmentation import (
    PREPARABLE,
    build_segmentation_data,
    prepare_dataset,
    prepare_isaid,
)
from rsbench.data.segmentation.isaid import ISAIDAdapter
from rsbench.data.segmentation.isaid_prepare import padded_size, windows

fake = generator("isaid")
SUFFIX = "_instance_color_RGB.png"
# patch 8, stride 5 (mmseg: --patch_width 8 --patch_height 8 --overlap_area 3)
SMALL = {"train": [(6, 12), (5, 7), (13, 8), (10, 15)], "val": [(8, 6), (8, 3), (20, 21)]}
SMALL_NAMES = {
    "train": ["P0000_0_8_0_8", "P0000_0_8_4_12",             # 6 x 12: padded to 8 x 12
              "P0001_0_8_0_8",                              # 5 x 7: padded to 8 x 8
              "P0002_0_8_0_8", "P0002_5_13_0_8",            # 13 x 8: 13 = 8 + 5, no padding
              "P0003_0_8_0_8", "P0003_0_8_5_13", "P0003_0_8_7_15",   # 10 x 15: flush last
              "P0003_2_10_0_8", "P0003_2_10_5_13", "P0003_2_10_7_15"],
    "val": ["P1000_0_8_-2_6", "P1001_0_8_-5_3"]            # height exactly 8: never padded
           + [f"P1002_{y}_{y + 8}_{x}_{x + 8}" for y in (0, 5, 10, 12) for x in (0, 5, 10, 13)],
}


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def hand_patch(height: int, width: int, name: str, label: bool) -> np.ndarray:
    """The named window of a scene padded as mmseg pads (image 0, label 255), by Python slicing."""
    y0, y1, x0, x1 = (int(v) for v in name.split("_")[1:])
    ph, pw = max(height, y1), max(width, x1)  # the window ends at the padded edge
    if label:
        full = np.full((ph, pw), 255, np.uint8)
        full[:height, :width] = fake.scene_classes(height, width)
        full[0, 0] = 0  # the off-palette colour
    else:
        full = np.zeros((ph, pw, 3), np.uint8)
        full[:height, :width] = fake.scene_image(height, width)
    return full[y0:y1, x0:x1]


def test_padding_and_windows_by_hand():
    assert padded_size(600, 1000, 896) == (896, 1000)
    assert padded_size(1000, 500, 896) == (1000, 896)
    assert padded_size(700, 800, 896) == (896, 896)
    assert padded_size(896, 700, 896) == (896, 700)  # mmseg compares < and >, never ==
    assert padded_size(896, 896, 896) == (896, 896)
    # starts 0, 512, 1024 (< 2000); 1024 + 896 > 2000 -> pulled back to 1104
    assert windows(2000, 896, 512) == [(0, 896), (512, 1408), (1024, 1920), (1104, 2000)]
    assert windows(1408, 896, 512) == [(0, 896), (512, 1408)]  # 1024 -> (512, 1408) again
    assert windows(896, 896, 512) == [(0, 896)]
    assert windows(700, 896, 512) == [(-196, 700)]  # an unpadded short side
    with pytest.raises(ValueError, match="positive"):
        windows(10, 8, 0)


def test_names_offsets_and_pixels_match_mmseg_rules(tmp_path):
    raw = fake.make_raw(tmp_path / "raw", SMALL)
    summary = prepare_isaid(raw, tmp_path / "isaid", patch=8, stride=5)
    assert (summary["n_scenes"], summary["n_train"], summary["n_val"]) == (7, 11, 18)
    root = tmp_path / "isaid"
    for s, split in enumerate(("train", "val")):
        assert sorted(p.stem for p in (root / "img_dir" / split).glob("*.png")) == \
            sorted(SMALL_NAMES[split])
        assert sorted(p.name for p in (root / "ann_dir" / split).glob("*.png")) == \
            sorted(n + SUFFIX for n in SMALL_NAMES[split])
        for name in SMALL_NAMES[split]:
            height, width = SMALL[split][int(name[1:5]) - 1000 * s]
            assert np.array_equal(pixels(root / "img_dir" / split / f"{name}.png"),
                                  hand_patch(height, width, name, label=False)), name
            assert np.array_equal(pixels(root / "ann_dir" / split / f"{name}{SUFFIX}"),
                                  hand_patch(height, width, name, label=True)), name
    # spot values: rows 6-7 of the 6 x 12 scene are padding, image 0 and label 255
    img = pixels(root / "img_dir" / "train" / "P0000_0_8_4_12.png")
    lab = pixels(root / "ann_dir" / "train" / f"P0000_0_8_4_12{SUFFIX}")
    assert img[0, 0].tolist() == [0, 4, 0] and img[5, 7].tolist() == [5, 11, 0]
    assert img[6:].max() == 0 and (lab[6:] == 255).all()
    assert lab[0, 0] == 1 and lab[5, 7] == 3  # (0 // 4 + 4 // 4), (5 // 4 + 11 // 4)
    assert pixels(root / "ann_dir" / "train" / f"P0000_0_8_0_8{SUFFIX}")[0, 0] == 0
    # height exactly 8, width 6: start 6 - 8 = -2, i.e. columns 4 and 5
    short = pixels(root / "img_dir" / "val" / "P1000_0_8_-2_6.png")
    assert short.shape == (8, 2, 3) and short[:, :, 1].tolist() == [[4, 5]] * 8
    # width 3: start -5 is before column 0, so Python slicing keeps all three columns
    assert pixels(root / "img_dir" / "val" / "P1001_0_8_-5_3.png").shape == (8, 3, 3)
    scene = json.loads((root / "manifest.json").read_text())["scenes"]["train/P0000"]
    assert (scene["padded_height"], scene["padded_width"], scene["n_patches"]) == (8, 12, 2)
    assert scene["unknown_colour_pixels"] == 1


def test_default_896_pads_and_names_by_padded_size(tmp_path):
    raw = fake.make_raw(tmp_path / "raw", {"train": [(600, 1000)], "val": [(896, 700)]})
    summary = prepare_dataset("isaid", raw, tmp_path / "isaid")
    assert (summary["patch"], summary["stride"], summary["n_files"]) == (896, 512, 6)
    files = json.loads((tmp_path / "isaid" / "manifest.json").read_text())["files"]
    assert sorted(files) == [
        f"ann_dir/train/P0000_0_896_0_896{SUFFIX}", f"ann_dir/train/P0000_0_896_104_1000{SUFFIX}",
        f"ann_dir/val/P1000_0_896_-196_700{SUFFIX}",
        "img_dir/train/P0000_0_896_0_896.png", "img_dir/train/P0000_0_896_104_1000.png",
        "img_dir/val/P1000_0_896_-196_700.png"]
    img = pixels(tmp_path / "isaid" / "img_dir" / "train" / "P0000_0_896_104_1000.png")
    lab = pixels(tmp_path / "isaid" / "ann_dir" / "train" / f"P0000_0_896_104_1000{SUFFIX}")
    assert img.shape == (896, 896, 3) and lab.shape == (896, 896)
    assert img[0, 0].tolist() == [0, 104, 0]
    assert img[599, 895].tolist() == [599 % 256, 999 % 256, 16 * 2 + 3]
    assert img[600:].max() == 0 and (lab[600:] == 255).all() and (lab[:600] != 255).all()
    short = pixels(tmp_path / "isaid" / "img_dir" / "val" / "P1000_0_896_-196_700.png")
    assert short.shape == (896, 196, 3) and short[0, 0].tolist() == [0, 504 % 256, 1]


def test_reprepare_is_byte_identical_with_manifest_hashes(tmp_path):
    raw = fake.make_raw(tmp_path / "raw")
    a = prepare_dataset("isaid", raw, tmp_path / "a", patch=32, stride=20)
    b = prepare_dataset("isaid", raw, tmp_path / "b", patch=32, stride=20, workers=2)
    again = prepare_dataset("isaid", raw, tmp_path / "a", patch=32, stride=20)
    assert a["manifest_sha256"] == b["manifest_sha256"] == again["manifest_sha256"]
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["variant"] == {
        "name": "mmseg", "reference": "mmsegmentation 1.2.2 tools/dataset_converters/isaid.py"}
    assert (manifest["patch"], manifest["stride"], manifest["overlap"]) == (32, 20, 12)
    assert manifest["subset"] is False
    for rel, digest in manifest["files"].items():
        data = (tmp_path / "a" / rel).read_bytes()
        assert data == (tmp_path / "b" / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
    on_disk = sorted(p.relative_to(tmp_path / "a").as_posix()
                     for p in (tmp_path / "a").rglob("*.png"))
    assert on_disk == sorted(manifest["files"])


def test_reprepare_with_other_patch_removes_old_patches(tmp_path):
    raw = fake.make_raw(tmp_path / "raw")
    prepare_isaid(raw, tmp_path / "isaid", patch=32, stride=20)
    summary = prepare_isaid(raw, tmp_path / "isaid", patch=64, stride=64)
    files = json.loads((tmp_path / "isaid" / "manifest.json").read_text())["files"]
    on_disk = sorted(p.relative_to(tmp_path / "isaid").as_posix()
                     for p in (tmp_path / "isaid").rglob("*.png"))
    assert on_disk == sorted(files) and len(files) == summary["n_files"]


def test_reader_reads_the_prepared_output(tmp_path):
    raw = fake.make_raw(tmp_path / "raw")
    summary = prepare_dataset("isaid", raw, tmp_path / "data" / "isaid", patch=32, stride=20)
    data = build_segmentation_data(DatasetSpec("isaid", {"kind": "official"}, 896),
                                   tmp_path / "data", tmp_path / "splits")
    # train: P0000 70 x 100 -> 3 rows x 5 columns, P0001 40 x 50 -> 2 x 2; val: P1000 60 x 60
    # -> 3 x 3 (starts 0, 20, 40 < 60; 40 + 32 > 60 -> 28)
    assert (summary["n_train"], summary["n_val"]) == (19, 9)
    assert (len(data.train), len(data.test)) == (19, 9)
    image, mask = data.test[0]
    assert Path(data.test.samples[0][0]).name == "P1000_0_32_0_32.png"
    assert image.shape == (3, 32, 32) and mask.shape == (32, 32)
    assert int(mask[0, 0]) == 0  # the off-palette colour is background, as mmseg maps it
    assert mask.tolist() == fake.scene_classes(32, 32).tolist()
    prepared = data.summary()["prepared"]
    assert (prepared["source"], prepared["variant"], prepared["variant_verified"]) == (
        "rsbench data prepare", "mmseg", True)
    assert prepared["manifest_sha256"] == summary["manifest_sha256"]
    assert (prepared["subset"], prepared["patch"], prepared["stride"]) == (False, 32, 20)


def test_subset_and_unknown_variant(tmp_path):
    raw = fake.make_raw(tmp_path / "raw")
    summary = prepare_isaid(raw, tmp_path / "isaid", patch=32, stride=20, tiles=["P1000"])
    assert (summary["n_scenes"], summary["n_train"], summary["n_val"]) == (1, 0, 9)
    assert json.loads((tmp_path / "isaid" / "manifest.json").read_text())["subset"] is True
    with pytest.raises(ValueError, match="P9999"):
        prepare_isaid(raw, tmp_path / "isaid", tiles=["P9999"])
    with pytest.raises(SpecError, match="mmseg"):
        prepare_isaid(raw, tmp_path / "isaid", variant="devkit")


def test_truncated_image_is_one_line_naming_the_file(tmp_path, capsys):
    raw = fake.make_raw(tmp_path / "raw")
    scene = raw / "val" / "images" / "P1000.png"
    scene.write_bytes(scene.read_bytes()[:80])
    rc = main(["data", "prepare", "isaid", "--src", str(raw), "--dst", str(tmp_path / "out"),
               "--patch", "32", "--stride", "20"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{scene}: truncated or corrupt image" in err
    (raw / "train" / "images" / "P0000.png").write_bytes(b"not a png")
    with pytest.raises(DatasetNotFound, match="P0000.png: truncated or corrupt"):
        prepare_isaid(raw, tmp_path / "out", workers=2)


def test_registered_and_missing_raw_messages(tmp_path):
    assert "isaid" in PREPARABLE
    with pytest.raises(DatasetNotFound) as err:
        prepare_dataset("isaid", tmp_path / "empty", tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "empty") in message
    assert "train/images/" in message and "Semantic_masks/images" in message
    assert "https://captain-whu.github.io/iSAID/" in message
    raw = fake.make_raw(tmp_path / "raw")
    (raw / "val" / "Semantic_masks" / "images" / "P1000_instance_color_RGB.png").unlink()
    with pytest.raises(DatasetNotFound, match="1 of 3 masks missing"):
        prepare_isaid(raw, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(DatasetNotFound, match="rsbench data prepare isaid"):
        ISAIDAdapter().official(tmp_path / "out")
    with pytest.raises(ValueError, match="positive"):
        prepare_isaid(raw, tmp_path / "out", patch=0)
