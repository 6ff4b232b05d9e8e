"""ISPRS Potsdam / Vaihingen preparation and reader on fake raw tiles in their real layouts."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from fake_data import generator
from PIL import Image

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound
from rsbench.data.segmentation import (
    build_segmentation_data,
    patch_positions,
    prepare_dataset,
    prepare_isprs,
)
from rsbench.data.segmentation.isprs import (
    ISPRS_URL,
    PotsdamAdapter,
    VaihingenAdapter,
    isprs_label_to_index,
)


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("isprs_raw")
    return {name: generator(name).make(base / name) for name in ("potsdam", "vaihingen")}


def test_patch_positions_by_hand():
    assert patch_positions(1100, 512, 256) == [0, 256, 512, 588]
    assert patch_positions(1024, 512, 256) == [0, 256, 512]
    assert patch_positions(512, 512, 256) == [0]
    assert patch_positions(300, 512, 256) == [0]
    assert patch_positions(6000, 512, 256)[-1] == 6000 - 512
    assert len(patch_positions(6000, 512, 256)) == 23  # ceil(5488 / 256) + 1
    with pytest.raises(ValueError):
        patch_positions(100, 0, 256)


def test_label_conversion_hand_made():
    rgb = np.array([[[255, 255, 255], [0, 0, 255], [0, 255, 255]],
                    [[0, 255, 0], [255, 255, 0], [255, 0, 0]],
                    [[0, 0, 0], [12, 34, 56], [255, 255, 255]]], np.uint8)
    assert isprs_label_to_index(rgb).tolist() == [[0, 1, 2], [3, 4, 255], [255, 255, 0]]
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    assert isprs_label_to_index(rgba).tolist() == isprs_label_to_index(rgb).tolist()


def test_tile_lists_match_the_protocol():
    assert [len(PotsdamAdapter.tiles[s]) for s in ("train", "test")] == [24, 14]
    assert [len(VaihingenAdapter.tiles[s]) for s in ("train", "test")] == [16, 17]
    for adapter in (PotsdamAdapter, VaihingenAdapter):
        assert not set(adapter.tiles["train"]) & set(adapter.tiles["test"])


def test_prepare_potsdam_counts_and_labels(raw, tmp_path):
    dst = tmp_path / "potsdam"
    summary = prepare_isprs("potsdam", raw["potsdam"], dst, patch=48, stride=24)
    # 100 x 80 tiles: rows 0, 24, 48, 52; columns 0, 24, 32 -> 12 patches per tile
    assert patch_positions(100, 48, 24) == [0, 24, 48, 52]
    assert patch_positions(80, 48, 24) == [0, 24, 32]
    assert (summary["n_train"], summary["n_test"]) == (24 * 12, 14 * 12)
    assert summary["n_files"] == 2 * 38 * 12
    rel = "2_10_00052_00032.png"
    image = np.asarray(Image.open(dst / "img_dir" / "train" / rel))
    ann = np.asarray(Image.open(dst / "ann_dir" / "train" / rel))
    src_img = tifffile.imread(raw["potsdam"] / "2_Ortho_RGB" / "top_potsdam_2_10_RGB.tif")
    src_lbl = tifffile.imread(raw["potsdam"] / "5_Labels_all" / "top_potsdam_2_10_label.tif")
    assert image.shape == (48, 48, 3) and ann.shape == (48, 48)
    assert np.array_equal(image, src_img[52:100, 32:80])
    assert np.array_equal(ann, isprs_label_to_index(src_lbl[52:100, 32:80]))
    assert set(np.unique(ann)) <= {0, 1, 2, 3, 4, 255}


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
    assert manifest["dataset"] == "vaihingen" and manifest["ignore_index"] == 255
    assert len(manifest["files"]) == len(files_a) == a["n_files"]
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "a" / rel).read_bytes()).hexdigest() == digest
    assert str(raw["vaihingen"]) not in (tmp_path / "a" / "manifest.json").read_text()
    assert manifest["tiles"]["1"]["label_file"].startswith("gts_for_participants/")


def test_reader_over_prepared_folder(raw, tmp_path):
    data_root = tmp_path / "data"
    prepare_dataset("potsdam", raw["potsdam"], data_root / "potsdam", patch=48, stride=24)
    split = {"kind": "official", "val_fraction": 0.25, "seed": 0}
    data = build_segmentation_data(DatasetSpec("potsdam", split, 512), data_root,
                                   tmp_path / "splits")
    assert data.classes == ["impervious_surface", "building", "low_vegetation", "tree", "car"]
    assert (len(data.train), len(data.val), len(data.test)) == (18 * 12, 6 * 12, 14 * 12)
    tiles = {Path(p).stem.rsplit("_", 2)[0] for p, _ in data.val.samples}
    assert len(tiles) == 6 and not tiles & {Path(p).stem.rsplit("_", 2)[0]
                                            for p, _ in data.train.samples}
    image, mask = data.test[0]
    assert image.shape == (3, 48, 48) and image.dtype == torch.float32
    assert mask.shape == (48, 48) and mask.dtype == torch.int64
    assert set(mask.unique().tolist()) <= {0, 1, 2, 3, 4, 255}
    assert data.summary()["num_classes"] == 5


def test_missing_raw_and_unprepared_messages(raw, tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        prepare_isprs("potsdam", tmp_path / "empty", tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and ISPRS_URL in message and "requested by hand" in message
    assert "2_Ortho_RGB/top_potsdam_<id>_RGB.tif" in message
    partial = tmp_path / "partial"
    for name in ("top", "gts_for_participants"):
        (partial / name).mkdir(parents=True)
        src = raw["vaihingen"] / name / "top_mosaic_09cm_area1.tif"
        (partial / name / src.name).write_bytes(src.read_bytes())
    with pytest.raises(DatasetNotFound, match="32 of 33 tiles missing"):
        prepare_isprs("vaihingen", partial, tmp_path / "out")
    with pytest.raises(DatasetNotFound, match="not prepared.*requested by hand"):
        build_segmentation_data(DatasetSpec("vaihingen", {"kind": "official"}, 512),
                                tmp_path, tmp_path / "splits")
    with pytest.raises(ValueError, match="preparable: potsdam, vaihingen"):
        prepare_dataset("loveda", tmp_path, tmp_path / "out")


def test_reprepare_lists_only_the_new_patches(raw, tmp_path):
    data_root = tmp_path / "data"
    prepare_isprs("vaihingen", raw["vaihingen"], data_root / "vaihingen", patch=32, stride=16)
    summary = prepare_isprs("vaihingen", raw["vaihingen"], data_root / "vaihingen", patch=64,
                            stride=64)
    data = build_segmentation_data(DatasetSpec("vaihingen", {"kind": "official"}, 64),
                                   data_root, tmp_path / "splits")
    assert (len(data.train), len(data.test)) == (summary["n_train"], summary["n_test"])
    assert summary["n_train"] == 16 * 2 * 2  # 90 x 70 at 64 / 64: rows 0, 26; columns 0, 6
    assert data.train[0][0].shape == (3, 64, 64)


def test_eroded_labels_are_preferred_as_mmseg_prepares_from_them(tmp_path):
    # mmseg cuts Potsdam from 5_Labels_all_noBoundary: boundaries painted black, hence ignored.
    src = generator("potsdam").make(tmp_path / "raw")
    full = tifffile.imread(src / "5_Labels_all" / "top_potsdam_2_10_label.tif")
    eroded = full.copy()
    eroded[:, :5] = 0  # a black boundary band
    (src / "5_Labels_all_noBoundary").mkdir()
    tifffile.imwrite(src / "5_Labels_all_noBoundary" / "top_potsdam_2_10_label_noBoundary.tif", eroded)
    dst = tmp_path / "potsdam"
    prepare_isprs("potsdam", src, dst, patch=48, stride=24)
    ann = np.asarray(Image.open(dst / "ann_dir" / "train" / "2_10_00000_00000.png"))
    assert (ann[:, :5] == 255).all()
    assert np.array_equal(ann[:, 5:], isprs_label_to_index(full[:48, 5:48]))
    manifest = json.loads((dst / "manifest.json").read_text())
    assert "noBoundary" in json.dumps(manifest["tiles"]["2_10"])  # the file used is on record
    assert "noBoundary" not in json.dumps(manifest["tiles"]["2_11"])  # others: full labels
