"""ISPRS Potsdam / Vaihingen: preparation and reading on fake raw tiles in their real layouts.

Expected counts and names follow mmseg's ``clip_big_image`` by hand: origins at ``k * patch``
for ``k = 0..ceil((L - patch) / stride)``, overflowing ones pulled back to ``L - patch``.
"""

import hashlib
import json

import numpy as np
import pytest
from fake_data import generator
from PIL import Image

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound
from rsbench.data.segmentation import build_segmentation_data, prepare_dataset, prepare_isprs
from rsbench.data.segmentation.isprs import ISPRS_URL, PotsdamAdapter, VaihingenAdapter

OFFICIAL = {"kind": "official"}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    base = tmp_path_factory.mktemp("isprs_raw")
    return {"potsdam": generator("potsdam").make(base / "potsdam", images=("rgb", "irrg")),
            "vaihingen": generator("vaihingen").make(base / "vaihingen")}


def test_tile_lists_equal_mmseg_converters():
    # mmseg 1.2.2 tools/dataset_converters/potsdam.py / vaihingen.py `splits`, copied by hand.
    assert set(PotsdamAdapter.tiles["train"]) == {
        "2_10", "2_11", "2_12", "3_10", "3_11", "3_12", "4_10", "4_11", "4_12", "5_10", "5_11",
        "5_12", "6_10", "6_11", "6_12", "6_7", "6_8", "6_9", "7_10", "7_11", "7_12", "7_7",
        "7_8", "7_9"}
    assert set(PotsdamAdapter.tiles["test"]) == {
        "5_15", "6_15", "6_13", "3_13", "4_14", "6_14", "5_14", "2_13", "4_15", "2_14", "5_13",
        "4_13", "3_14", "7_13"}
    assert {f"area{t}" for t in VaihingenAdapter.tiles["train"]} == {
        "area1", "area11", "area13", "area15", "area17", "area21", "area23", "area26",
        "area28", "area3", "area30", "area32", "area34", "area37", "area5", "area7"}
    assert {f"area{t}" for t in VaihingenAdapter.tiles["test"]} == {
        "area6", "area24", "area35", "area16", "area14", "area22", "area10", "area4", "area2",
        "area20", "area8", "area31", "area33", "area27", "area38", "area12", "area29"}


def test_prepare_potsdam_default_is_mmseg_grid_and_names(raw, tmp_path):
    dst = tmp_path / "potsdam"
    summary = prepare_isprs("potsdam", raw["potsdam"], dst, patch=48, stride=24)
    # 100 x 80 (H x W) at 48: ys k*48 for k = 0..ceil(52/24)=3 -> 0, 48, 52 (96, 144 pulled
    # back); xs for k = 0..ceil(32/24)=2 -> 0, 32 (48, 96 pulled back) -> 6 patches per tile.
    assert (summary["n_train"], summary["n_test"]) == (24 * 6, 14 * 6)
    assert summary["variant"] == "rgb-eroded" and summary["subset"] is False
    names = sorted(p.name for p in (dst / "img_dir" / "train").glob("2_10_*.png"))
    assert names == ["2_10_0_0_48_48.png", "2_10_0_48_48_96.png", "2_10_0_52_48_100.png",
                     "2_10_32_0_80_48.png", "2_10_32_48_80_96.png", "2_10_32_52_80_100.png"]
    assert len(list((dst / "img_dir" / "val").glob("5_15_*.png"))) == 6
    manifest = json.loads((dst / "manifest.json").read_text())
    assert manifest["tiles"]["2_10"]["label_file"] == \
        "5_Labels_all_noBoundary/top_potsdam_2_10_label_noBoundary.tif"
    assert manifest["variant"]["name"] == "rgb-eroded" and manifest["variant"]["grid"] == "mmseg"


def test_prepare_is_byte_identical_with_manifest_hashes(raw, tmp_path):
    a = prepare_dataset("vaihingen", raw["vaihingen"], tmp_path / "a", patch=32, stride=16)
    b = prepare_dataset("vaihingen", raw["vaihingen"], tmp_path / "b", patch=32, stride=16,
                        workers=2)
    assert a["manifest_sha256"] == b["manifest_sha256"]
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.png"))
    assert files_a == files_b
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
               for f in files_a)
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["dataset"] == "vaihingen" and manifest["variant"]["name"] == "irrg-eroded"
    assert len(manifest["files"]) == len(files_a) == a["n_files"]
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "a" / rel).read_bytes()).hexdigest() == digest
    assert str(raw["vaihingen"]) not in (tmp_path / "a" / "manifest.json").read_text()


def test_reader_over_prepared_folder_six_classes(raw, tmp_path):
    data_root = tmp_path / "data"
    prepare_dataset("potsdam", raw["potsdam"], data_root / "potsdam", patch=48, stride=24)
    split = {"kind": "official", "val_fraction": 0.25, "seed": 0}
    spec = DatasetSpec("potsdam", split, 512, variant="rgb-eroded-6cls")
    data = build_segmentation_data(spec, data_root, tmp_path / "splits")
    assert data.classes == ["impervious_surface", "building", "low_vegetation", "tree", "car",
                            "clutter"]
    assert (len(data.train), len(data.val), len(data.test)) == (18 * 6, 6 * 6, 14 * 6)
    tiles = {p.split("/")[-1].rsplit("_", 4)[0] for p, _ in data.val.samples}
    assert len(tiles) == 6 and not tiles & {p.split("/")[-1].rsplit("_", 4)[0]
                                            for p, _ in data.train.samples}
    image, mask = data.test[0]
    assert image.shape == (3, 48, 48) and mask.shape == (48, 48)
    stored = np.asarray(Image.open(data_root / "potsdam" / data.test.samples[0][1]))
    expected = np.where(stored == 0, 255, stored.astype(np.int64) - 1)  # reduce_zero_label
    assert np.array_equal(mask.numpy(), expected)
    summary = data.summary()
    assert summary["num_classes"] == 6 and summary["prepared"]["variant"]["name"] == \
        "rgb-eroded-6cls"
    assert summary["prepared"]["subset"] is False and summary["prepared"]["variant_verified"]
    assert "potsdam_rgb-eroded-6cls_official_mmseg" in str(data.split_file)


def test_missing_raw_and_unprepared_messages(raw, tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        prepare_isprs("potsdam", tmp_path / "empty", tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and ISPRS_URL in message and "requested by hand" in message
    assert "2_Ortho_RGB/top_potsdam_<id>_RGB.tif" in message
    partial = tmp_path / "partial"
    for rel in ("top/top_mosaic_09cm_area1.tif", "ISPRS_semantic_labeling_Vaihingen_ground_"
                "truth_eroded_COMPLETE/top_mosaic_09cm_area1_noBoundary.tif"):
        (partial / rel).parent.mkdir(parents=True)
        (partial / rel).write_bytes((raw["vaihingen"] / rel).read_bytes())
    with pytest.raises(DatasetNotFound, match="32 of 33 tiles missing"):
        prepare_isprs("vaihingen", partial, tmp_path / "out")
    with pytest.raises(DatasetNotFound, match="not prepared.*requested by hand"):
        build_segmentation_data(DatasetSpec("vaihingen", OFFICIAL, 512,
                                            variant="irrg-eroded-6cls"),
                                tmp_path, tmp_path / "splits")
    with pytest.raises(ValueError, match="preparable: isaid, potsdam, vaihingen"):
        prepare_dataset("loveda", tmp_path, tmp_path / "out")


def test_reprepare_lists_only_the_new_patches(raw, tmp_path):
    data_root = tmp_path / "data"
    prepare_isprs("vaihingen", raw["vaihingen"], data_root / "vaihingen", patch=32, stride=16)
    summary = prepare_isprs("vaihingen", raw["vaihingen"], data_root / "vaihingen", patch=64,
                            stride=64)
    spec = DatasetSpec("vaihingen", OFFICIAL, 64, variant="irrg-eroded-5cls")
    data = build_segmentation_data(spec, data_root, tmp_path / "splits")
    assert (len(data.train), len(data.test)) == (summary["n_train"], summary["n_test"])
    assert summary["n_train"] == 16 * 2 * 2  # 90 x 70 at 64: ys 0, 26; xs 0, 6
    assert data.train[0][0].shape == (3, 64, 64)
