"""DOTA v1.0: label parsing, polygon geometry, tiling with box clipping, the prepared reader."""

import hashlib
import json
from pathlib import Path

import pytest
from fake_data import generator

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound
from rsbench.data.detection import (
    DOTA_CLASSES,
    build_detection_data,
    clip_polygon,
    parse_dota_txt,
    polygon_to_hbb,
    prepare_detection,
    prepare_dota,
    tile_objects,
)
from rsbench.data.detection.dota import visible_fraction
from rsbench.data.segmentation import patch_positions


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return generator("dota").make(tmp_path_factory.mktemp("dota_raw"))


def dota_spec(**split) -> DatasetSpec:
    return DatasetSpec(name="dota", split={"kind": "official", **split}, image_size=64)


def test_classes():
    assert len(DOTA_CLASSES) == 15 and DOTA_CLASSES[0] == "plane"
    assert "container-crane" not in DOTA_CLASSES


def test_parse_label_text_by_hand():
    text = ("imagesource:GoogleEarth\ngsd:0.146\n"
            "10 0 20 10 10 20 0 10 small-vehicle 1\n"
            "1.5 2 8 2 8 9 1.5 9 plane\n\n")
    objects = parse_dota_txt(text)
    assert objects == [([(10, 0), (20, 10), (10, 20), (0, 10)], "small-vehicle", True),
                       ([(1.5, 2), (8, 2), (8, 9), (1.5, 9)], "plane", False)]


def test_polygon_to_hbb_and_clipping_by_hand():
    diamond = [(10.0, 0.0), (20.0, 10.0), (10.0, 20.0), (0.0, 10.0)]
    assert polygon_to_hbb(diamond) == (0.0, 0.0, 20.0, 20.0)
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    clipped = clip_polygon(square, 6.0, -5.0, 50.0, 50.0)
    assert polygon_to_hbb(clipped) == (6.0, 0.0, 10.0, 10.0)
    assert visible_fraction(square, clipped) == pytest.approx(0.4)
    # the diamond (area 200) cut at x = 15 loses the triangle (15,5) (20,10) (15,15): area 25
    half = clip_polygon(diamond, 0.0, 0.0, 15.0, 20.0)
    assert polygon_to_hbb(half) == (0.0, 0.0, 15.0, 20.0)
    assert visible_fraction(diamond, half) == pytest.approx(175 / 200)
    assert clip_polygon(square, 20.0, 20.0, 30.0, 30.0) == []


def test_tile_grid_and_box_crossing_an_edge():
    # width 150, tile 100, overlap 40 -> stride 60, origins 0 and 50 (last ends at the edge)
    assert patch_positions(150, 100, 60) == [0, 50]
    box = [(80.0, 10.0), (120.0, 10.0), (120.0, 30.0), (80.0, 30.0)]
    objects = [(box, "ship", False)]
    left, n_trunc, n_drop = tile_objects(objects, 0, 0, 100, 100)
    assert left == [(80.0, 10.0, 100.0, 30.0, "ship", True)] and (n_trunc, n_drop) == (1, 0)
    right, n_trunc, _ = tile_objects(objects, 50, 0, 100, 100)
    assert right == [(30.0, 10.0, 70.0, 30.0, "ship", False)] and n_trunc == 0
    dropped, _, n_drop = tile_objects(objects, 0, 0, 100, 100, truncated="drop")
    assert dropped == [] and n_drop == 1
    kept, n_trunc, _ = tile_objects(objects, 0, 0, 100, 100, min_visible=0.5)
    assert kept[0][-1] is False and n_trunc == 0  # exactly half visible, threshold 0.5
    assert tile_objects(objects, 0, 50, 100, 100)[0] == []  # below the box


def test_prepare_counts_manifest_and_reproducibility(raw, tmp_path):
    summary = prepare_dota(raw, tmp_path / "a", tile=64, overlap=16)
    # train images 150x130, 90x100, 120x70 / val 110x140, 80x80 at tile 64, stride 48
    def n(w, h):
        return len(patch_positions(w, 64, 48)) * len(patch_positions(h, 64, 48))
    assert summary["n_train"] == n(150, 130) + n(90, 100) + n(120, 70)
    assert summary["n_val"] == n(110, 140) + n(80, 80)
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert len(manifest["files"]) == summary["n_files"] == 2 * (summary["n_train"] + summary["n_val"])
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "a" / rel).read_bytes()).hexdigest() == digest
    assert manifest["images"]["train/P0000"]["label_file"] == "train/labelTxt/P0000.txt"
    again = prepare_dota(raw, tmp_path / "b", tile=64, overlap=16)
    assert again["manifest_sha256"] == summary["manifest_sha256"]
    assert (tmp_path / "a" / "manifest.json").read_bytes() == \
        (tmp_path / "b" / "manifest.json").read_bytes()
    via = prepare_detection("dota", raw, tmp_path / "c", tile=64, overlap=16, workers=2)
    assert via["manifest_sha256"] == summary["manifest_sha256"]
    other = prepare_dota(raw, tmp_path / "d", tile=64, overlap=16, truncated="drop")
    assert other["manifest_sha256"] != summary["manifest_sha256"]


def test_prepared_reader_and_val_by_source_image(raw, tmp_path):
    prepare_dota(raw, tmp_path / "dota", tile=64, overlap=16)
    data = build_detection_data(dota_spec(val_fraction=0.34, seed=0), tmp_path,
                                tmp_path / "splits")
    assert data.summary()["num_classes"] == 15
    sources = {name: {Path(p).name.split("__")[0] for p, _ in getattr(data, name).samples}
               for name in ("train", "val", "test")}
    assert len(sources["val"]) == 1 and len(sources["train"]) == 2
    assert not sources["train"] & sources["val"]
    assert sources["test"] == {"P0003", "P0004"}
    n_boxes = 0
    for index in range(len(data.train)):
        image, target = data.train[index]
        h, w = image.shape[-2:]
        assert h <= 64 and w <= 64
        boxes = target["boxes"]
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w).all()
        assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= h).all()
        n_boxes += len(boxes)
    assert n_boxes > 0


def test_missing_data_messages(raw, tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        build_detection_data(dota_spec(), tmp_path, tmp_path / "splits")
    message = str(err.value)
    assert "\n" not in message and "not prepared" in message
    assert "rsbench data prepare dota" in message
    with pytest.raises(DatasetNotFound, match="train/images/P"):
        prepare_dota(tmp_path / "nothing", tmp_path / "out")
    with pytest.raises(ValueError, match="needs no preparation"):
        prepare_detection("dior", raw, tmp_path / "x")
    with pytest.raises(ValueError, match="overlap"):
        prepare_dota(raw, tmp_path / "x", tile=64, overlap=64)
