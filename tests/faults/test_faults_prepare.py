"""Defective raw releases through ``rsbench data prepare``: one exact line, no manifest.

Every prepare command meets a truncated image, an empty image, a missing label, a truncated
label and a renamed image folder. Each must exit 2 with exactly one ``rsbench: error:`` line
naming the file or folder and what to do (no traceback), and leave no ``manifest.json``, so the
half-written folder is never read as a prepared dataset.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fake_data import generator
from fault_kit import errors, prepare, rename, truncate, zero_bytes

OPTIONS = {"potsdam": ["--tiles", "2_10,5_15", "--patch", "32"],
           "vaihingen": ["--tiles", "1,2", "--patch", "32"],
           "isaid": ["--patch", "32", "--stride", "16"],
           "dota": ["--patch", "64", "--overlap", "16"],
           "xview": ["--patch", "64", "--overlap", "16"]}
#: The first raw image of each release, its first label, and the image folder.
FILES = {"potsdam": ("2_Ortho_RGB/top_potsdam_2_10_RGB.tif",
                     "5_Labels_all_noBoundary/top_potsdam_2_10_label_noBoundary.tif",
                     "2_Ortho_RGB"),
         "vaihingen": ("top/top_mosaic_09cm_area1.tif",
                       "ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE/"
                       "top_mosaic_09cm_area1_noBoundary.tif", "top"),
         "isaid": ("train/images/P0000.png",
                   "train/Semantic_masks/images/P0000_instance_color_RGB.png", "train/images"),
         "dota": ("train/images/P0000.png", "train/labelTxt/P0000.txt", "train/images"),
         "xview": ("train_images/200.tif", "xView_train.geojson", "train_images")}
TIFF_FIX = "replace it (extract it again from the release)"


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """One clean fake raw release per prepare command."""
    tmp = tmp_path_factory.mktemp("raw")
    generator("potsdam").make(tmp / "potsdam", tiles=("2_10", "5_15"))
    generator("vaihingen").make(tmp / "vaihingen", tiles=("1", "2"))
    generator("isaid").make_raw(tmp / "isaid")
    generator("dota").make(tmp / "dota")
    generator("xview").make_scenes(tmp / "xview")
    return tmp


def prepared(raw: Path, tmp_path: Path, name: str, defect, capsys) -> tuple[Path, list[str]]:
    """``(src, error lines)`` of preparing a copy of ``name`` with ``defect(src)`` applied;
    asserts exit code 2 and that no manifest was left."""
    src = tmp_path / "src"
    shutil.copytree(raw / name, src)
    defect(src)
    capsys.readouterr()
    assert prepare(name, src, tmp_path / "dst", *OPTIONS[name]) == 2
    assert not (tmp_path / "dst" / "manifest.json").exists()
    return src, errors(capsys.readouterr().err)


@pytest.mark.parametrize("name", ["potsdam", "vaihingen", "xview"])
def test_truncated_and_empty_tiffs_are_named(raw, tmp_path, capsys, name):
    image, label, _ = FILES[name]
    src, lines = prepared(raw, tmp_path / "a", name, lambda s: truncate(s / image), capsys)
    assert len(lines) == 1 and re.fullmatch(
        re.escape(f"rsbench: error: {src / image}: truncated or corrupt (ValueError: failed to "
                  f"read NN bytes, got NN); {TIFF_FIX}").replace("NN", r"\d+"), lines[0])
    src, lines = prepared(raw, tmp_path / "b", name, lambda s: zero_bytes(s / image), capsys)
    assert lines == [f"rsbench: error: {src / image}: truncated or corrupt (TiffFileError: not a "
                     f"TIFF file: header=b''); {TIFF_FIX}"]
    if name != "xview":  # the ISPRS labels are TIFFs too
        src, lines = prepared(raw, tmp_path / "c", name, lambda s: truncate(s / label), capsys)
        assert len(lines) == 1 and lines[0].startswith(
            f"rsbench: error: {src / label}: truncated or corrupt (ValueError: failed to read ")


def test_truncated_xview_geojson_is_named(raw, tmp_path, capsys):
    src, lines = prepared(raw, tmp_path, "xview",
                          lambda s: truncate(s / "xView_train.geojson"), capsys)
    assert len(lines) == 1 and lines[0].startswith(
        f"rsbench: error: {src}/xView_train.geojson: truncated or corrupt (JSONDecodeError: ")
    assert lines[0].endswith("); download xView_train.geojson again")


@pytest.mark.parametrize("name", ["isaid", "dota"])
def test_truncated_and_empty_pngs_are_named(raw, tmp_path, capsys, name):
    image = FILES[name][0]
    src, lines = prepared(raw, tmp_path / "a", name, lambda s: truncate(s / image), capsys)
    fix = {"isaid": "extract it again from the iSAID / DOTA-v1.0 release",
           "dota": "the file is truncated or corrupt: extract it again from the DOTA archive"}
    what = {"isaid": "truncated or corrupt image", "dota": "cannot decode the image"}[name]
    assert lines == [f"rsbench: error: {src / image}: {what} (image file is truncated); "
                     f"{fix[name]}"]
    src, lines = prepared(raw, tmp_path / "b", name, lambda s: zero_bytes(s / image), capsys)
    assert lines == [f"rsbench: error: {src / image}: {what} (cannot identify image file "
                     f"'{src / image}'); {fix[name]}"]


def test_missing_labels_are_named(raw, tmp_path, capsys):
    expected = {
        "potsdam": "raw potsdam eroded labels incomplete under {src}/5_Labels_all_noBoundary: 1 "
                   "of 2 tiles missing, e.g. top_potsdam_2_10_label_noBoundary.tif",
        "vaihingen": "raw vaihingen eroded labels incomplete under {src}/ISPRS_semantic_labeling_"
                     "Vaihingen_ground_truth_eroded_COMPLETE: 1 of 2 tiles missing, e.g. "
                     "top_mosaic_09cm_area1_noBoundary.tif",
        "isaid": "raw iSAID is incomplete (1 of 3 masks missing, e.g. train/Semantic_masks/"
                 "images/P0000_instance_color_RGB.png) at {src}: expected ",
        "dota": "raw DOTA v1.0 is incomplete under {src}: no label train/labelTxt/P0000.txt for "
                "train/images/P0000.png (v1.0 has P0000-P2805; remove images of other versions)",
        "xview": "raw xView not found under {src} (no xView_train.geojson): expected "
                 "train_images/*.tif and xView_train.geojson; ",
    }
    for name, start in expected.items():
        src, lines = prepared(raw, tmp_path / name, name,
                              lambda s, n=name: (s / FILES[n][1]).unlink(), capsys)
        assert len(lines) == 1 and lines[0].startswith(f"rsbench: error: {start.format(src=src)}")


def test_renamed_image_folders_say_where_the_images_are(raw, tmp_path, capsys):
    expected = {
        "potsdam": "raw potsdam RGB images not found under {src}: found 2 tiles under "
                   "{src}/imgs; expected 2_Ortho_RGB/top_potsdam_<id>_RGB.tif or 4_Ortho_RGBIR/"
                   "top_potsdam_<id>_RGBIR.tif (pass --src so that the tiles' folder is one of "
                   "these, or rename it)",
        "vaihingen": "raw vaihingen IRRG images not found under {src}: found 2 tiles under "
                     "{src}/imgs; expected top/top_mosaic_09cm_area<id>.tif or ISPRS_semantic_"
                     "labeling_Vaihingen/top/top_mosaic_09cm_area<id>.tif (pass --src so that "
                     "the tiles' folder is one of these, or rename it)",
        "xview": "raw xView not found under {src} (no train_images/*.tif (found 10 .tif files "
                 "under {src}/imgs: move them there)): expected ",
        "isaid": "raw iSAID not found (train/images/ has no scenes; train/ holds Semantic_masks, "
                 "imgs) at {src}: expected ",
    }
    for name, start in expected.items():
        src, lines = prepared(raw, tmp_path / name, name,
                              lambda s, n=name: rename(s / FILES[n][2], "imgs"), capsys)
        assert len(lines) == 1 and lines[0].startswith(f"rsbench: error: {start.format(src=src)}")


def test_truncated_dota_label_is_named(raw, tmp_path, capsys):
    src, lines = prepared(raw, tmp_path, "dota", lambda s: truncate(s / FILES["dota"][1]), capsys)
    assert len(lines) == 1 and "train/labelTxt/P0000.txt" in lines[0]


def test_a_failed_preparation_removes_the_old_manifest(raw, tmp_path, capsys):
    """Re-preparing over a good folder: the old manifest goes first, so the mix of old and new
    patches a failure leaves is never read."""
    dst = tmp_path / "dst"
    assert prepare("potsdam", raw / "potsdam", dst, *OPTIONS["potsdam"]) == 0
    assert (dst / "manifest.json").is_file()
    src, lines = prepared(raw, tmp_path, "potsdam",
                          lambda s: truncate(s / "2_Ortho_RGB/top_potsdam_5_15_RGB.tif"), capsys)
    assert len(lines) == 1 and (dst / "PREPARATION_UNFINISHED").is_file()
