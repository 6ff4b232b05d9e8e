"""Preparing iSAID: raw DOTA scenes + colour masks -> patches + manifest (fake raw data)."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from fake_data import generator
from PIL import Image

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound
from rsbench.data.segmentation import (
    PREPARABLE,
    build_segmentation_data,
    patch_positions,
    prepare_dataset,
    prepare_isaid,
)
from rsbench.data.segmentation.isaid import ISAID_PALETTE, ISAIDAdapter


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def test_patch_grid_by_hand():
    # height 1000 / patch 400 / stride 300: 0, 300, 600 (600 + 400 = 1000, flush with the edge)
    assert patch_positions(1000, 400, 300) == [0, 300, 600]
    # width 700: 0, 300 (300 + 400 = 700)
    assert patch_positions(700, 400, 300) == [0, 300]
    # the iSAID defaults, 896 / 512: a 2000 px side gives 0, 512, 1024, then 1104 at the edge
    assert patch_positions(2000, 896, 512) == [0, 512, 1024, 1104]
    assert patch_positions(800, 896, 512) == [0]


def test_patches_are_the_raw_crops(tmp_path):
    raw = generator("isaid").make_raw(tmp_path / "raw", {"train": [(1000, 700)], "val": [(300, 350)]})
    summary = prepare_isaid(raw, tmp_path / "isaid", patch=400, stride=300)
    assert (summary["n_scenes"], summary["n_train"], summary["n_val"]) == (2, 6, 1)
    assert summary["n_files"] == 14
    manifest = json.loads((tmp_path / "isaid" / "manifest.json").read_text())
    expected = {f"train/images/P0000_{y}_{y + 400}_{x}_{x + 400}.png"
                for y in (0, 300, 600) for x in (0, 300)}
    expected |= {p[:-4] + "_instance_color_RGB.png" for p in expected}
    expected |= {"val/images/P1000_0_300_0_350.png",
                 "val/images/P1000_0_300_0_350_instance_color_RGB.png"}
    assert set(manifest["files"]) == expected
    assert manifest["scenes"]["train/P0000"]["n_patches"] == 6
    image = pixels(raw / "train" / "images" / "P0000.png")
    mask = pixels(raw / "train" / "Semantic_masks" / "images" / "P0000_instance_color_RGB.png")
    for y in (0, 300, 600):
        for x in (0, 300):
            stem = tmp_path / "isaid" / "train" / "images" / f"P0000_{y}_{y + 400}_{x}_{x + 400}"
            assert np.array_equal(pixels(Path(f"{stem}.png")), image[y:y + 400, x:x + 400])
            assert np.array_equal(pixels(Path(f"{stem}_instance_color_RGB.png")),
                                  mask[y:y + 400, x:x + 400])
    small = tmp_path / "isaid" / "val" / "images" / "P1000_0_300_0_350.png"
    assert np.array_equal(pixels(small), pixels(raw / "val" / "images" / "P1000.png"))


def test_reprepare_is_byte_identical_with_manifest_hashes(tmp_path):
    raw = generator("isaid").make_raw(tmp_path / "raw")
    a = prepare_dataset("isaid", raw, tmp_path / "a", patch=32, stride=20)
    b = prepare_dataset("isaid", raw, tmp_path / "b", patch=32, stride=20, workers=2)
    again = prepare_dataset("isaid", raw, tmp_path / "a", patch=32, stride=20)
    assert a["manifest_sha256"] == b["manifest_sha256"] == again["manifest_sha256"]
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["dataset"] == "isaid" and manifest["patch"] == 32
    assert manifest["stride"] == 20 and len(manifest["files"]) == a["n_files"] > 0
    for rel, digest in manifest["files"].items():
        data = (tmp_path / "a" / rel).read_bytes()
        assert data == (tmp_path / "b" / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
    on_disk = sorted(p.relative_to(tmp_path / "a").as_posix()
                     for p in (tmp_path / "a").rglob("*.png"))
    assert on_disk == sorted(manifest["files"])


def test_reprepare_with_other_patch_removes_old_patches(tmp_path):
    raw = generator("isaid").make_raw(tmp_path / "raw")
    prepare_isaid(raw, tmp_path / "isaid", patch=32, stride=20)
    summary = prepare_isaid(raw, tmp_path / "isaid", patch=64, stride=64)
    files = json.loads((tmp_path / "isaid" / "manifest.json").read_text())["files"]
    on_disk = sorted(p.relative_to(tmp_path / "isaid").as_posix()
                     for p in (tmp_path / "isaid").rglob("*.png"))
    assert on_disk == sorted(files) and len(files) == summary["n_files"]


def test_reader_reads_the_prepared_output(tmp_path):
    raw = generator("isaid").make_raw(tmp_path / "raw")
    summary = prepare_dataset("isaid", raw, tmp_path / "data" / "isaid", patch=32, stride=20)
    data = build_segmentation_data(DatasetSpec("isaid", {"kind": "official"}, 896),
                                   tmp_path / "data", tmp_path / "splits")
    assert (len(data.train), len(data.test)) == (summary["n_train"], summary["n_val"])
    # train: P0000 70x100 -> 3 rows x 5 cols, P0001 40x50 -> 2 x 2; val: P1000 60x60 -> 3 x 3
    assert (summary["n_train"], summary["n_val"]) == (19, 9)
    image, mask = data.test[0]
    assert image.shape == (3, 32, 32) and mask.shape == (32, 32)
    assert int(mask[0, 0]) == 255  # the off-palette corner is ignored
    assert set(mask.unique().tolist()) <= set(ISAID_PALETTE.values()) | {255}
    assert Path(data.test.samples[0][0]).name == "P1000_0_32_0_32.png"


def test_registered_and_missing_raw_messages(tmp_path):
    assert "isaid" in PREPARABLE
    with pytest.raises(DatasetNotFound) as err:
        prepare_dataset("isaid", tmp_path / "empty", tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "empty") in message
    assert "train/images/" in message and "Semantic_masks/images" in message
    assert "https://captain-whu.github.io/iSAID/" in message
    raw = generator("isaid").make_raw(tmp_path / "raw")
    (raw / "val" / "Semantic_masks" / "images" / "P1000_instance_color_RGB.png").unlink()
    with pytest.raises(DatasetNotFound, match="1 of 3 masks missing"):
        prepare_isaid(raw, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(DatasetNotFound, match="rsbench data prepare isaid"):
        ISAIDAdapter().official(tmp_path / "out")
    with pytest.raises(ValueError, match="positive"):
        prepare_isaid(raw, tmp_path / "out", patch=0)
