"""DOTA v1.0: raw layouts, the prepared manifest, the readers of both variants, and errors."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from fake_data import generator

from rsbench.config import DatasetSpec, SpecError
from rsbench.data import DatasetNotFound
from rsbench.data.detection import (
    DOTA_CLASSES,
    build_detection_data,
    prepare_detection,
    prepare_dota,
)
from rsbench.data.detection.dota_raw import UnreadableImage, parse_raw_objects


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return generator("dota").make(tmp_path_factory.mktemp("dota_raw"))


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> Path:
    return generator("dota").make_hand(tmp_path_factory.mktemp("hand_raw"))


def dota_spec(variant: str | None = None, root: str | None = None, **split) -> DatasetSpec:
    return DatasetSpec(name="dota", split={"kind": "official", **split}, image_size=64,
                       variant=variant, root=root)


def test_classes():
    assert len(DOTA_CLASSES) == 15 and DOTA_CLASSES[0] == "plane"
    assert "container-crane" not in DOTA_CLASSES


def test_parse_label_lines_by_hand():
    text = ("imagesource:GoogleEarth\ngsd:0.146\n"
            "10 0 20 10 10 20 0 10 small-vehicle 1\n"
            "1.5 2 8 2 8 9 1.5 9 plane\n\n")
    assert parse_raw_objects(text) == [((10, 0, 20, 10, 10, 20, 0, 10), "small-vehicle", "1"),
                                       ((1.5, 2, 8, 2, 8, 9, 1.5, 9), "plane", "0")]


def test_prepare_counts_manifest_and_reproducibility(raw, tmp_path):
    summary = prepare_dota(raw, tmp_path / "a", tile=64, overlap=16)
    # devkit origins at tile 64, stride 48: 150 -> 0 48 86, 130 -> 0 48 66, 90 -> 0 26,
    # 100 -> 0 36, 120 -> 0 48 56, 70 -> 0 6 (train); 110 -> 0 46, 140 -> 0 48 76, 80 -> 0 16
    assert (summary["n_train"], summary["n_val"]) == (3 * 3 + 2 * 2 + 3 * 2, 2 * 3 + 2 * 2)
    assert summary["reference_parameters"] is False
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["variant"] == "devkit" and manifest["reference"]["commit"] == "9938855"
    assert manifest["parameters"] == {"tile": 64, "overlap": 16, "min_visible": 0.7}
    assert len(manifest["files"]) == summary["n_files"] == 2 * (summary["n_train"] + summary["n_val"])
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "a" / rel).read_bytes()).hexdigest() == digest
    assert manifest["images"]["train/P0000"]["label_file"] == "train/labelTxt/P0000.txt"
    prepare_dota(raw, tmp_path / "b", tile=64, overlap=16)
    assert (tmp_path / "a" / "manifest.json").read_bytes() == \
        (tmp_path / "b" / "manifest.json").read_bytes()
    via = prepare_detection("dota", raw, tmp_path / "c", tile=64, overlap=16, workers=2)
    assert via["manifest_sha256"] == summary["manifest_sha256"]
    other = prepare_dota(raw, tmp_path / "d", tile=64, overlap=16, variant="mmrotate")
    assert other["manifest_sha256"] != summary["manifest_sha256"]


def test_reader_boxes_difficulty_and_val_by_source_image(raw, hand, tmp_path):
    prepare_dota(hand, tmp_path / "dota")
    data = build_detection_data(dota_spec(), tmp_path, tmp_path / "splits")
    names = [Path(p).name for p, _ in data.train.samples]
    _, target = data.train[names.index("P0001__1__276___0.png")]
    # enclosing boxes of the devkit's tile polygons; difficulty 1 and 2 are difficult
    assert target["boxes"][-1].tolist() == [1.0, 700.0, 24.0, 720.0]
    assert target["difficult"].tolist() == [False, True, False, False, False, False, False,
                                            False, True]
    assert target["labels"][0].item() == DOTA_CLASSES.index("plane")
    prepare_dota(raw, tmp_path / "small" / "dota", tile=64, overlap=16)
    carved = build_detection_data(dota_spec(val_fraction=0.34, seed=0), tmp_path / "small",
                                  tmp_path / "splits")
    sources = {name: {Path(p).name.split("__")[0] for p, _ in getattr(carved, name).samples}
               for name in ("train", "val", "test")}
    assert len(sources["val"]) == 1 and len(sources["train"]) == 2
    assert not sources["train"] & sources["val"] and sources["test"] == {"P0003", "P0004"}


def test_mmrotate_reader_has_no_difficult_objects(hand, tmp_path):
    summary = prepare_dota(hand, tmp_path / "dota_mmrotate", variant="mmrotate")
    data = build_detection_data(dota_spec("mmrotate", "dota_mmrotate"), tmp_path,
                                tmp_path / "splits")
    prepared = data.summary()["prepared"]
    assert prepared["variant"] == "mmrotate" and prepared["reference_parameters"] is True
    assert prepared["manifest_sha256"] == summary["manifest_sha256"]
    assert prepared["reference"]["file"] == "tools/data/dota/split/img_split.py"
    assert Path(data.split_file).name.startswith("dota_mmrotate")
    names = [Path(p).name for p, _ in data.train.samples]
    _, target = data.train[names.index("P0001__1024__0___0.png")]
    assert not target["difficult"].any() and len(target["boxes"]) == 7
    # the unclipped ship (953..1053) is clipped to the 1024 px tile by the reader
    assert target["boxes"][0].tolist() == [953.0, 200.0, 1024.0, 210.0]


def test_variant_mismatch_is_one_line_naming_manifest_and_fix(raw, tmp_path):
    prepare_dota(raw, tmp_path / "dota", tile=64, overlap=16)  # devkit tiles
    with pytest.raises(DatasetNotFound) as err:
        build_detection_data(dota_spec("mmrotate"), tmp_path, tmp_path / "splits")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "dota" / "manifest.json") in message
    assert "--variant mmrotate" in message and "dataset.variant: devkit" in message
    with pytest.raises(SpecError, match="DOTA has devkit, mmrotate"):
        build_detection_data(dota_spec("bboxtoolkit"), tmp_path, tmp_path / "splits")
    data = build_detection_data(dota_spec("devkit"), tmp_path, tmp_path / "splits")
    assert data.summary()["prepared"]["variant"] == "devkit"


def move(src: Path, old: str, new: str) -> None:
    for split in ("train", "val"):
        (src / split / new).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src / split / old, src / split / new)


@pytest.mark.parametrize("labels", ["labelTxt-v1.0/labelTxt", "annotations/version1.0"])
def test_official_and_torchgeo_layouts_give_the_same_tiles(raw, tmp_path, labels):
    reference = prepare_dota(raw, tmp_path / "ref", tile=64, overlap=16)
    src = shutil.copytree(raw, tmp_path / "src")
    move(src, "labelTxt", labels)
    prepare_dota(src, tmp_path / "out", tile=64, overlap=16)
    files = [json.loads((tmp_path / d / "manifest.json").read_text())["files"] for d in ("ref", "out")]
    assert files[0] == files[1] and reference["n_files"] == len(files[1])


@pytest.mark.parametrize("labels, says", [
    ("labelTxt-v1.0/Train_Task2_gt/trainset_reclabelTxt", "horizontal-box labels only"),
    ("labelTxt-v1.5/DOTA-v1.5_train", "labelTxt-v1.5 labels, not v1.0"),
    ("annotations/version2.0", "annotations/version2.0 labels, not v1.0"),
])
def test_other_label_layouts_are_refused_in_one_line(raw, tmp_path, labels, says):
    src = shutil.copytree(raw, tmp_path / "src")
    move(src, "labelTxt", labels)
    with pytest.raises(DatasetNotFound) as err:
        prepare_dota(src, tmp_path / "out")
    assert says in str(err.value) and "\n" not in str(err.value)


def test_images_one_folder_too_deep_and_missing_label(raw, tmp_path):
    src = shutil.copytree(raw, tmp_path / "src")
    move(src, "images", "images_/images")
    move(src, "images_", "images")
    with pytest.raises(DatasetNotFound, match="one folder too deep"):
        prepare_dota(src, tmp_path / "out")
    src = shutil.copytree(raw, tmp_path / "src2")
    (src / "val" / "labelTxt" / "P0004.txt").unlink()
    with pytest.raises(DatasetNotFound, match=r"no label val/labelTxt/P0004\.txt"):
        prepare_dota(src, tmp_path / "out")


@pytest.mark.parametrize("workers", [1, 2])
def test_truncated_png_is_one_line_naming_the_file(raw, tmp_path, workers):
    src = shutil.copytree(raw, tmp_path / "src")
    png = src / "train" / "images" / "P0001.png"
    png.write_bytes(png.read_bytes()[: png.stat().st_size // 2])
    with pytest.raises(UnreadableImage) as err:
        prepare_dota(src, tmp_path / "out", tile=64, overlap=16, workers=workers)
    assert str(png) in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_missing_data_and_bad_parameters(raw, tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        build_detection_data(dota_spec(), tmp_path, tmp_path / "splits")
    assert "\n" not in str(err.value) and "not prepared" in str(err.value)
    assert "rsbench data prepare dota" in str(err.value)
    with pytest.raises(DatasetNotFound, match="train images not found"):
        prepare_dota(tmp_path / "nothing", tmp_path / "out")
    with pytest.raises(ValueError, match="needs no preparation"):
        prepare_detection("dior", raw, tmp_path / "x")
    with pytest.raises(ValueError, match="overlap"):
        prepare_dota(raw, tmp_path / "x", tile=64, overlap=64)
    with pytest.raises(ValueError, match="devkit, mmrotate"):
        prepare_dota(raw, tmp_path / "x", variant="bboxtoolkit")


def test_options_a_preparation_does_not_take_are_refused(raw, tmp_path):
    with pytest.raises(ValueError, match="variant: not an option of preparing xview"):
        prepare_detection("xview", raw, tmp_path / "x", variant="devkit")
    with pytest.raises(ValueError, match="truncated: not an option of preparing dota"):
        prepare_detection("dota", raw, tmp_path / "x", truncated="drop")
