"""The raw layouts people have: accepted, or refused in one line that says what differs."""

import shutil
import zipfile

import numpy as np
import pytest
import tifffile
from fake_data import generator
from PIL import Image

from rsbench.cli import main
from rsbench.data import DatasetNotFound
from rsbench.data.segmentation import prepare_isprs

SMALL = {"patch": 32, "stride": 16}  # 100 x 80: ys 0, 32, 64, 68; xs 0, 32, 48


@pytest.fixture(scope="module")
def torchgeo_potsdam(tmp_path_factory):
    return generator("potsdam").make(tmp_path_factory.mktemp("tg"), layout="torchgeo")


def test_torchgeo_potsdam_layout_needs_a_full_label_variant(torchgeo_potsdam, tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        prepare_isprs("potsdam", torchgeo_potsdam, tmp_path / "p", **SMALL)
    message = str(err.value)
    assert "\n" not in message and "eroded labels not found" in message
    assert f"found 38 full (not eroded) labels under {torchgeo_potsdam}" in message
    assert "pass --variant rgb-full" in message
    summary = prepare_isprs("potsdam", torchgeo_potsdam, tmp_path / "p", variant="irrg-full",
                            **SMALL)
    assert summary["label_source"] == "top_potsdam_<id>_label.tif"
    rgbir = tifffile.imread(torchgeo_potsdam / "4_Ortho_RGBIR" / "top_potsdam_2_10_RGBIR.tif")
    got = np.asarray(Image.open(tmp_path / "p" / "img_dir" / "train" / "2_10_48_68_80_100.png"))
    assert np.array_equal(got, rgbir[68:100, 48:80][..., [3, 0, 1]])


def test_cli_refusal_is_one_line(torchgeo_potsdam, tmp_path, capsys):
    args = ["data", "prepare", "potsdam", "--src", str(torchgeo_potsdam), "--dst", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--variant rgb-full" in err


def test_vaihingen_official_torchgeo_and_nested_layouts(tmp_path):
    gen = generator("vaihingen")
    official = gen.make(tmp_path / "official", tiles=["1", "2"])
    a = prepare_isprs("vaihingen", official, tmp_path / "a", tiles=["1", "2"], **SMALL)
    assert a["image_source"] == "top/top_mosaic_09cm_area<id>.tif" and a["n_tiles"] == 2
    torchgeo = gen.make(tmp_path / "torchgeo", layout="torchgeo", tiles=["1"])
    b = prepare_isprs("vaihingen", torchgeo, tmp_path / "b", variant="irrg-full", tiles=["1"],
                      **SMALL)
    assert b["label_source"] == "top_mosaic_09cm_area<id>.tif"
    nested = tmp_path / "nested"
    shutil.copytree(official / "top", nested / "ISPRS_semantic_labeling_Vaihingen" / "top")
    labels = "ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE"
    shutil.copytree(official / labels, nested / labels)
    c = prepare_isprs("vaihingen", nested, tmp_path / "c", tiles=["1"], **SMALL)
    assert c["image_source"].startswith("ISPRS_semantic_labeling_Vaihingen/top/")


def test_archives_mmseg_folders_and_other_folder_names_are_named(tmp_path):
    zips = tmp_path / "zips"
    zips.mkdir()
    with zipfile.ZipFile(zips / "2_Ortho_RGB.zip", "w") as zf:
        zf.writestr("2_Ortho_RGB/top_potsdam_2_10_RGB.tif", b"")
    with pytest.raises(DatasetNotFound, match="archive.s. 2_Ortho_RGB.zip not extracted"):
        prepare_isprs("potsdam", zips, tmp_path / "o")
    mmseg = tmp_path / "mmseg"
    (mmseg / "img_dir" / "train").mkdir(parents=True)
    (mmseg / "ann_dir" / "train").mkdir(parents=True)
    with pytest.raises(DatasetNotFound, match="prepared by mmseg's converter.*needs no prep"):
        prepare_isprs("potsdam", mmseg, tmp_path / "o")
    renamed = generator("potsdam").make(tmp_path / "renamed", tiles=["2_10"])
    (renamed / "2_Ortho_RGB").rename(renamed / "RGB tiles")
    with pytest.raises(DatasetNotFound) as err:
        prepare_isprs("potsdam", renamed, tmp_path / "o", tiles=["2_10"])
    assert f"found 1 tiles under {renamed / 'RGB tiles'}; expected 2_Ortho_RGB/" in str(err.value)


def test_incomplete_folders_name_the_first_missing_file(tmp_path):
    src = generator("potsdam").make(tmp_path / "raw", tiles=["2_10", "2_11", "5_15"])
    with pytest.raises(DatasetNotFound, match="35 of 38 tiles missing, e.g. top_potsdam_2_12_RGB"):
        prepare_isprs("potsdam", src, tmp_path / "o")
    (src / "5_Labels_all_noBoundary" / "top_potsdam_2_11_label_noBoundary.tif").unlink()
    with pytest.raises(DatasetNotFound, match="eroded labels incomplete .*1 of 3 tiles missing"):
        prepare_isprs("potsdam", src, tmp_path / "o", tiles=["2_10", "2_11", "5_15"])
