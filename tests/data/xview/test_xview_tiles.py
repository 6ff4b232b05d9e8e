"""xView tiling: grid and box clipping by hand, truncation, reproducible bytes, the prepared
reader through ``build_detection_data``, and the split by source scene."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from fake_data import generator
from PIL import Image

from rsbench.cli import main
from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound
from rsbench.data.detection import (
    XVIEW_TYPE_IDS,
    build_detection_data,
    prepare_detection,
    prepare_xview,
)

SPLIT = {"kind": "ratio", "train": 0.8, "test": 0.2, "val_fraction": 0.25, "seed": 0}
TILING = {"tile": 64, "overlap": 16}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """``<root>/xview`` raw scenes and ``<root>/xview_tiles`` cut at 64 px, overlap 16."""
    base = tmp_path_factory.mktemp("xview_scenes")
    generator("xview").make_scenes(base / "xview")
    prepare_xview(base / "xview", base / "xview_tiles", **TILING)
    return base


def labels(root: Path, tile: str) -> str:
    return (root / "labels" / f"{tile}.txt").read_text()


def test_tile_grid_and_box_clipping_by_hand(data_root):
    tiles = data_root / "xview_tiles"
    manifest = json.loads((tiles / "manifest.json").read_text())
    # 150 x 130 at tile 64, stride 48: x at 0, 48, 86 and y at 0, 48, 66 (last ones end at the edge)
    names = {Path(rel).stem for rel in manifest["files"] if rel.startswith("images/200__")}
    assert names == {f"200__1__{x}___{y}" for x in (0, 48, 86) for y in (0, 48, 66)}
    scene = tifffile.imread(data_root / "xview" / "train_images" / "200.tif").transpose(1, 2, 0)
    with Image.open(tiles / "images" / "200__1__48___66.png") as img:
        assert np.array_equal(np.asarray(img), scene[66:130, 48:112])
    # Building 40,10,60,30: whole in tile (0, 0); 12 of its 20 px wide in tile (48, 0) -> 0.6
    assert labels(tiles, "200__1__0___0") == "40.00 10.00 60.00 30.00 73 0\n"
    assert labels(tiles, "200__1__48___0") == "0.00 10.00 12.00 30.00 73 1\n"
    # Small Car 140,120,160,140 clipped to the scene (150 x 130) first, then whole in (86, 66)
    assert labels(tiles, "200__1__86___66") == "54.00 54.00 64.00 64.00 18 0\n"
    assert labels(tiles, "200__1__86___0") == "" and labels(tiles, "200__1__0___48") == ""
    facts = manifest["images"]["200"]
    assert (facts["width"], facts["height"], facts["n_tiles"]) == (150, 130, 9)
    # type_id 75 skipped, the aircraft outside the scene counted, not kept
    assert (facts["n_objects"], facts["n_outside"], facts["n_truncated"]) == (2, 1, 1)
    assert manifest["images"]["202"]["n_tiles"] == 1  # 40 x 50: one tile of the whole scene
    assert manifest["unmatched_image_ids"] == ["999.tif"]


def test_truncation_rule(data_root, tmp_path):
    raw = data_root / "xview"
    prepare_xview(raw, tmp_path / "drop", truncated="drop", **TILING)
    assert labels(tmp_path / "drop", "200__1__48___0") == ""
    assert labels(tmp_path / "drop", "200__1__0___0") == "40.00 10.00 60.00 30.00 73 0\n"
    facts = json.loads((tmp_path / "drop" / "manifest.json").read_text())["images"]["200"]
    assert (facts["n_truncated"], facts["n_dropped"]) == (0, 1)
    prepare_xview(raw, tmp_path / "half", min_visible=0.5, **TILING)
    assert labels(tmp_path / "half", "200__1__48___0") == "0.00 10.00 12.00 30.00 73 0\n"
    with pytest.raises(ValueError, match="overlap"):
        prepare_xview(raw, tmp_path / "bad", tile=64, overlap=64)


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_re_preparation_is_byte_identical(data_root, tmp_path, capsys):
    raw, first = data_root / "xview", data_root / "xview_tiles"
    again = prepare_detection("xview", raw, tmp_path / "again", workers=2, **TILING)
    assert tree(tmp_path / "again") == tree(first)
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["files"] == {k: v for k, v in tree(first).items() if k != "manifest.json"}
    # a damaged tile and label in place are rewritten to the same bytes
    (tmp_path / "again" / "images" / "200__1__0___0.png").write_bytes(b"broken")
    (tmp_path / "again" / "labels" / "201__1__0___0.txt").write_text("junk\n")
    assert prepare_xview(raw, tmp_path / "again", **TILING) == again
    assert tree(tmp_path / "again") == tree(first)
    assert main(["data", "prepare", "xview", "--src", str(raw), "--dst", str(tmp_path / "cli"),
                 "--patch", "64", "--overlap", "16"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["manifest_sha256"] == again["manifest_sha256"]
    assert summary["n_tiles"] == 45 and summary["dataset"] == "xview_tiles"


def tiles_spec(**split) -> DatasetSpec:
    return DatasetSpec(name="xview_tiles", split={**SPLIT, **split}, image_size=64)


def test_prepared_root_loads_through_build_detection_data(data_root, tmp_path):
    data = build_detection_data(tiles_spec(), data_root, tmp_path / "splits")
    assert data.summary()["num_classes"] == 60
    assert len(data.train) + len(data.val) + len(data.test) == 45
    assert data.split_file.name == "xview_tiles_ratio_0.8_0.2_val0.25_seed0.json"
    assert "source image" in json.loads(data.split_file.read_text())["split"]["note"]
    n_boxes, seen = 0, False
    for ds in (data.train, data.val, data.test):
        for index, (img, _) in enumerate(ds.samples):
            image, target = ds[index]
            h, w = image.shape[-2:]
            assert image.shape[0] == 3 and h <= 64 and w <= 64
            boxes = target["boxes"]
            assert (boxes[:, 0::2] >= 0).all() and (boxes[:, 2] <= w).all()
            assert (boxes[:, 3] <= h).all() and all(0 <= k < 60 for k in target["labels"].tolist())
            n_boxes += len(boxes)
            if img == "images/200__1__48___0.png":
                seen = True
                assert target["boxes"].tolist() == [[0.0, 10.0, 12.0, 30.0]]
                assert target["labels"].tolist() == [XVIEW_TYPE_IDS.index(73)]
                assert target["difficult"].tolist() == [True]
    assert seen and n_boxes > 0
    coco = data.coco_ground_truth("test")
    assert len(coco["images"]) == len(data.test) and len(coco["categories"]) == 60


def test_split_keeps_every_scene_on_one_side(data_root, tmp_path):
    for seed in range(5):
        data = build_detection_data(tiles_spec(seed=seed), data_root, tmp_path / "splits")
        scenes = {name: {Path(img).name.split("__")[0] for img, _ in getattr(data, name).samples}
                  for name in ("train", "val", "test")}
        assert not scenes["train"] & scenes["val"] and not scenes["train"] & scenes["test"]
        assert not scenes["val"] & scenes["test"]
        assert set().union(*scenes.values()) == {str(200 + n) for n in range(10)}
        # 10 scenes: trainval round(8) -> val round(2) -> 6 / 2 / 2 scenes, as for raw xView
        assert [len(scenes[s]) for s in ("train", "val", "test")] == [6, 2, 2]
        raw = DatasetSpec(name="xview", split={**SPLIT, "seed": seed}, image_size=64)
        whole = build_detection_data(raw, data_root, tmp_path / "splits")
        for name in ("train", "val", "test"):
            assert {Path(img).stem for img, _ in getattr(whole, name).samples} == scenes[name]


def test_missing_data_is_one_line_naming_the_path_and_what_to_run(data_root, tmp_path, capsys):
    with pytest.raises(DatasetNotFound) as err:
        prepare_xview(tmp_path / "nothing", tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "nothing") in message
    assert "train_images/*.tif" in message and "xView_train.geojson" in message
    assert "rsbench data prepare xview" in message and "xviewdataset.org" in message
    assert main(["data", "prepare", "xview", "--src", str(tmp_path / "nothing"),
                 "--dst", str(tmp_path / "out")]) == 2
    assert "\n" not in capsys.readouterr().err.strip()
    with pytest.raises(DatasetNotFound) as err:
        build_detection_data(tiles_spec(), tmp_path, tmp_path / "splits")
    message = str(err.value)
    assert "\n" not in message and "not prepared" in message and str(tmp_path) in message
    assert "rsbench data prepare xview --src <data_root>/xview" in message
