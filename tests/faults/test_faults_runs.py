"""Defective copies of every dataset family through ``rsbench run``: one exact line, nothing lost.

Each case copies a clean generated dataset, applies one defect and runs a tiny task on it. A
defect must end the run as a ``failed`` record whose one-line message names the file (found by
the pre-flight check before any training) or, for a harmless one, an ``ok`` record that says
what it saw; the other tasks of the same command still run.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from fake_data import generator
from fault_kit import (
    copy_of,
    greyscale,
    records,
    rename,
    run,
    truncate,
    write_mask,
    write_task,
    zero_bytes,
)
from PIL import Image
from tiny_models import write_tiny_card

FIX = "replace or remove them (re-extract the archive or prepare the dataset again) and run again; nothing was trained"
UCM_IMG = "UCMerced_LandUse/Images/agricultural/agricultural00.tif"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny card and one clean copy of each dataset family."""
    from rsbench.cli import main
    from rsbench.data import make_synthetic_ucmerced
    from rsbench.data.detection import make_synthetic_dior
    from rsbench.data.segmentation import make_synthetic_loveda

    tmp = tmp_path_factory.mktemp("faults")
    clean = tmp / "clean"
    make_synthetic_ucmerced(clean / "ucmerced", n_per_class=4, size=16, seed=0)
    generator("aid").make(clean / "aid", 2, 16)
    make_synthetic_loveda(clean / "loveda", 2, 32, 0)
    make_synthetic_dior(clean / "dior", 3, 64, 0)
    generator("isaid").make(clean / "isaid", 2, 1, 32)
    generator("potsdam").make(tmp / "potsdam_raw", tiles=("2_10", "5_15"))
    assert main(["data", "prepare", "potsdam", "--src", str(tmp / "potsdam_raw"), "--dst",
                 str(clean / "potsdam"), "--tiles", "2_10,5_15", "--patch", "32"]) == 0
    return {"tmp": tmp, "clean": clean, "card": write_tiny_card(tmp, 32)}


def outcome(world, tmp_path: Path, family: str, defect=None, *others: str) -> tuple[int, dict]:
    """Run ``bad_<family>`` on a copy with ``defect(root)`` applied (then ``good_<f>`` of each
    family in ``others``, on clean copies); returns the exit code and the records by task."""
    data = tmp_path / "data"
    root = copy_of(world["clean"] / family, data / family)
    if defect is not None:
        defect(root)
    tasks = [write_task(tmp_path, family, f"bad_{family}")]
    for other in others:
        if not (data / other).exists():
            copy_of(world["clean"] / other, data / other)
        tasks.append(write_task(tmp_path, other, f"good_{other}"))
    rc = run(world["card"], data, tmp_path / "out", tasks, tmp_path / "cache")
    return rc, records(tmp_path / "out")


def failed(world, tmp_path: Path, family: str, defect) -> dict:
    """The error of the failed record of ``bad_<family>`` with ``defect`` applied."""
    rc, recs = outcome(world, tmp_path, family, defect)
    record = recs[f"bad_{family}"]
    assert (rc, record["status"]) == (1, "failed")
    assert "train_s" not in record["timings"]  # refused before any training
    return record["error"]


def first(root: Path, pattern: str, n: int = 0) -> Path:
    return sorted(root.glob(pattern))[n]


def preflight_line(tmp_path: Path, family: str, n_bad: int, n_total: int, items: str) -> str:
    return (f"bad_{family}: dataset '{family}' at {tmp_path}/data/{family}: {n_bad} of {n_total} "
            f"samples fail the pre-flight check: {items}; {FIX}")


# -- classification: UC Merced (torchgeo's official split) and AID (folders, ratio split) ---

def test_ucmerced_truncated_image(world, tmp_path):
    err = failed(world, tmp_path, "ucmerced", lambda r: truncate(r / UCM_IMG))
    assert err["type"] == "rsbench.data.errors.DataError"
    expected = preflight_line(tmp_path, "ucmerced", 1, 84, f"{UCM_IMG} (read failed (OSError: "
                              f"image file is truncated (NN bytes not processed)))")
    assert re.fullmatch(re.escape(expected).replace("NN", r"\d+"), err["message"])


def test_ucmerced_zero_byte_image(world, tmp_path):
    err = failed(world, tmp_path, "ucmerced", lambda r: zero_bytes(r / UCM_IMG))
    assert err["message"] == preflight_line(tmp_path, "ucmerced", 1, 84,
                                            f"{UCM_IMG} (empty (0 bytes))")


def test_ucmerced_listed_image_deleted_is_named_not_dropped(world, tmp_path):
    err = failed(world, tmp_path, "ucmerced", lambda r: (r / UCM_IMG).unlink())
    assert err["type"] == "rsbench.data.errors.DataError"
    assert err["message"] == (
        f"dataset 'ucmerced' at {tmp_path}/data/ucmerced: uc_merced-train.txt lists 1 image(s) "
        f"not found under its class folders: agricultural00.tif; restore them (re-extract the "
        f"archive or pass --download) so the train split has all its samples")


def test_ucmerced_greyscale_image_is_a_wrong_band_count(world, tmp_path):
    err = failed(world, tmp_path, "ucmerced", lambda r: greyscale(r / UCM_IMG))
    assert err["message"] == preflight_line(
        tmp_path, "ucmerced", 1, 84, f"{UCM_IMG} (has 1 band(s) (mode L), expected 3 (RGB))")


def test_ucmerced_renamed_folder_says_where_the_classes_are(world, tmp_path):
    err = failed(world, tmp_path, "ucmerced", lambda r: rename(r / "UCMerced_LandUse", "UCM"))
    root = tmp_path / "data" / "ucmerced"
    assert err["type"] == "rsbench.data.errors.DatasetNotFound"
    assert err["message"].startswith(
        f"dataset 'ucmerced' (UC Merced Land Use) not found (found 21 of 21 class folders under "
        f"{root}/UCM/Images; move or rename that folder to {root}/UCMerced_LandUse/Images) at "
        f"{root}: expected 21 class folders as ")


def test_aid_truncated_jpeg(world, tmp_path):
    err = failed(world, tmp_path, "aid", lambda r: truncate(r / "AID/Airport/airport_1.jpg"))
    assert err["message"] == preflight_line(
        tmp_path, "aid", 1, 60, "AID/Airport/airport_1.jpg (read failed (OSError: Truncated "
        "File Read))")


def test_aid_zero_byte_jpeg(world, tmp_path):
    err = failed(world, tmp_path, "aid", lambda r: zero_bytes(r / "AID/Beach/beach_2.jpg"))
    assert err["message"] == preflight_line(tmp_path, "aid", 1, 60,
                                            "AID/Beach/beach_2.jpg (empty (0 bytes))")


# -- segmentation: LoveDA, prepared ISPRS Potsdam, iSAID in mmseg's layout -----------------

def test_loveda_truncated_test_image_is_found_before_training(world, tmp_path):
    err = failed(world, tmp_path, "loveda",
                 lambda r: truncate(r / "Val/Urban/images_png/2.png"))
    assert err["message"] == preflight_line(
        tmp_path, "loveda", 1, 4,
        "Val/Urban/images_png/2.png (read failed (OSError: image file is truncated))")


def test_loveda_missing_mask(world, tmp_path):
    err = failed(world, tmp_path, "loveda", lambda r: (r / "Val/Rural/masks_png/3.png").unlink())
    assert err["type"] == "rsbench.data.errors.DatasetNotFound"
    assert err["message"].startswith(
        f"dataset 'loveda' (LoveDA) is incomplete (1 masks missing, e.g. "
        f"Val/Rural/masks_png/3.png) at {tmp_path}/data/loveda: expected ")


def test_loveda_renamed_folder_says_what_is_there(world, tmp_path):
    err = failed(world, tmp_path, "loveda", lambda r: rename(r / "Train", "train"))
    assert err["message"].startswith(
        f"dataset 'loveda' (LoveDA) has no Train images (its folders: Test, Val, train) at "
        f"{tmp_path}/data/loveda: expected ")


def test_loveda_mask_value_out_of_range(world, tmp_path):
    err = failed(world, tmp_path, "loveda",
                 lambda r: write_mask(r / "Train/Rural/masks_png/1.png", 9))
    assert err["message"] == preflight_line(
        tmp_path, "loveda", 1, 4, "Train/Rural/images_png/1.png (read failed (DataError: "
        "Train/Rural/masks_png/1.png: LoveDA mask value 9 is neither no-data (0) nor a class "
        "(1..7)))")


def test_loveda_greyscale_image(world, tmp_path):
    err = failed(world, tmp_path, "loveda", lambda r: greyscale(r / "Train/Urban/images_png/0.png"))
    assert err["message"] == preflight_line(
        tmp_path, "loveda", 1, 4, "Train/Urban/images_png/0.png (has 1 band(s), expected 3)")


def test_loveda_one_all_ignore_mask_is_kept_and_reported(world, tmp_path, capsys):
    rc, recs = outcome(world, tmp_path, "loveda",
                       lambda r: write_mask(r / "Train/Urban/masks_png/0.png", 0))
    record = recs["bad_loveda"]
    assert (rc, record["status"]) == (0, "ok")  # mmseg trains on it too: it adds nothing
    assert record["timings"]["preflight_all_ignore"] == 1.0
    assert (f"[rsbench] bad_loveda: dataset 'loveda' at {tmp_path}/data/loveda: warning: 1 "
            f"mask(s) have no labelled pixel (all ignore), e.g. Train/Urban/masks_png/0.png; "
            f"they add nothing to training or scores") in capsys.readouterr().err.splitlines()


def test_loveda_all_ignore_test_split_fails_before_training(world, tmp_path):
    def unlabel(root):
        for mask in sorted(root.glob("Val/*/masks_png/*.png")):
            write_mask(mask, 0)

    err = failed(world, tmp_path, "loveda", unlabel)
    assert err["type"] == "rsbench.errors.MetricUndefined"
    assert err["message"] == (
        "bad_loveda: primary metric 'miou' is undefined: every mask of the test split is all "
        "ignore (Val/Rural/masks_png/3.png, Val/Urban/masks_png/2.png (2)), so it gives nothing "
        "to score (found before training); check its labels")


# Potsdam: 2 tiles of 100 x 80 at patch 32, mmseg's grid: rows at 0, 68 and columns at 0, 48, so
# 4 patches a tile and 8 samples in all (4 train, 4 test).
def potsdam_patch(root: Path, split: str = "val", n: int = 0) -> Path:
    return first(root, f"img_dir/{split}/*.png", n)


def test_potsdam_truncated_patch(world, tmp_path):
    name = potsdam_patch(world["clean"] / "potsdam").name
    err = failed(world, tmp_path, "potsdam", lambda r: truncate(r / "img_dir/val" / name))
    assert err["message"] == preflight_line(
        tmp_path, "potsdam", 1, 8,
        f"img_dir/val/{name} (read failed (OSError: image file is truncated))")


def test_potsdam_patch_listed_in_the_manifest_but_deleted(world, tmp_path):
    name = potsdam_patch(world["clean"] / "potsdam", "train", 3).name
    err = failed(world, tmp_path, "potsdam", lambda r: (r / "img_dir/train" / name).unlink())
    assert err["type"] == "rsbench.data.errors.DataError"
    assert err["message"] == (
        f"dataset at {tmp_path}/data/potsdam: 1 file(s) the split uses are missing: "
        f"img_dir/train/{name}; restore them (re-extract the archive or prepare the dataset "
        f"again) and run again; nothing was trained")


def test_potsdam_label_value_out_of_range(world, tmp_path):
    name = potsdam_patch(world["clean"] / "potsdam", "train", 1).name
    err = failed(world, tmp_path, "potsdam", lambda r: write_mask(r / "ann_dir/train" / name, 9))
    assert err["message"] == preflight_line(
        tmp_path, "potsdam", 1, 8, f"img_dir/train/{name} (read failed (DataError: "
        f"ann_dir/train/{name}: not an ISPRS label in mmseg's encoding (single-band, values "
        f"0..6), got shape (32, 32), max 9))")


def test_potsdam_folder_of_a_failed_preparation_is_refused(world, tmp_path):
    from rsbench.cli import main

    raw = copy_of(world["tmp"] / "potsdam_raw", tmp_path / "raw")
    truncate(raw / "2_Ortho_RGB/top_potsdam_5_15_RGB.tif")

    def reprepare(root):
        assert main(["data", "prepare", "potsdam", "--src", str(raw), "--dst", str(root),
                     "--tiles", "2_10,5_15", "--patch", "32"]) == 2

    err = failed(world, tmp_path, "potsdam", reprepare)
    root = tmp_path / "data" / "potsdam"
    assert not (root / "manifest.json").exists()
    assert err["message"] == (
        f"{root}: an earlier `rsbench data prepare potsdam` stopped before it finished "
        f"(PREPARATION_UNFINISHED is there), so its patches are partial; fix what it reported "
        f"and run it again")


def test_isaid_truncated_patch(world, tmp_path):
    err = failed(world, tmp_path, "isaid",
                 lambda r: truncate(r / "img_dir/train/P0001_0_32_0_32.png"))
    assert err["message"] == preflight_line(
        tmp_path, "isaid", 1, 4,
        "img_dir/train/P0001_0_32_0_32.png (read failed (OSError: image file is truncated))")


def test_isaid_label_value_out_of_range(world, tmp_path):
    mask = "ann_dir/val/P1001_0_32_0_32_instance_color_RGB.png"
    err = failed(world, tmp_path, "isaid", lambda r: write_mask(r / mask, 77))
    assert err["message"] == preflight_line(
        tmp_path, "isaid", 1, 4, f"img_dir/val/P1001_0_32_0_32.png (read failed (DataError: "
        f"{mask}: label value 77 is neither a class (0..15) nor ignore (255)))")


def test_isaid_zero_byte_mask(world, tmp_path):
    mask = "ann_dir/train/P0001_0_32_0_32_instance_color_RGB.png"
    err = failed(world, tmp_path, "isaid", lambda r: zero_bytes(r / mask))
    assert err["message"] == preflight_line(
        tmp_path, "isaid", 1, 4, f"img_dir/train/P0001_0_32_0_32.png (its mask {mask} empty "
        f"(0 bytes))")


# -- detection: DIOR -------------------------------------------------------------------------

def dior_image(world, stem: str) -> str:
    """The image of annotation ``stem``, relative to the DIOR root."""
    (path,) = (world["clean"] / "dior").glob(f"JPEGImages-*/{stem}.jpg")
    return path.relative_to(world["clean"] / "dior").as_posix()


def test_dior_truncated_test_image_is_found_before_training(world, tmp_path):
    name = first(world["clean"] / "dior", "JPEGImages-test/*.jpg").name
    err = failed(world, tmp_path, "dior", lambda r: truncate(r / "JPEGImages-test" / name))
    assert re.fullmatch(re.escape(preflight_line(
        tmp_path, "dior", 1, 9, f"JPEGImages-test/{name} (read failed (OSError: image file is "
        f"truncated (NN bytes not processed)))")).replace("NN", r"\d+"), err["message"])


def test_dior_listed_image_missing(world, tmp_path):
    name = first(world["clean"] / "dior", "JPEGImages-trainval/*.jpg").name
    err = failed(world, tmp_path, "dior", lambda r: (r / "JPEGImages-trainval" / name).unlink())
    assert err["type"] == "rsbench.data.errors.DatasetNotFound"
    assert err["message"].startswith(
        f"dataset 'dior' (DIOR) is incomplete (1 listed files missing, e.g. "
        f"JPEGImages-trainval/{name}) at {tmp_path}/data/dior: expected ")


def test_dior_box_outside_the_image(world, tmp_path):
    xml = first(world["clean"] / "dior", "Annotations/Horizontal Bounding Boxes/*.xml")
    text = xml.read_text()
    xmin = re.search(r"<xmin>(\d+)</xmin>", text)[1]

    def move_box(root):
        path = root / "Annotations/Horizontal Bounding Boxes" / xml.name
        path.write_text(text.replace(f"<xmin>{xmin}</xmin>", "<xmin>900</xmin>", 1)
                        .replace("<xmax>", "<xmax>9", 1))
        return path

    err = failed(world, tmp_path, "dior", move_box)
    stem = xml.stem
    assert err["message"].startswith(preflight_line(
        tmp_path, "dior", 1, 9, f"{dior_image(world, stem)} (its annotation Annotations/"
        f"Horizontal Bounding Boxes/{stem}.xml has 1 box(es) outside the 64 x 64 image, "
        f"e.g. xyxy [899.0, ")[:-len(f"; {FIX}")])


def test_dior_zero_byte_annotation(world, tmp_path):
    xml = first(world["clean"] / "dior", "Annotations/Horizontal Bounding Boxes/*.xml", 2)
    err = failed(world, tmp_path, "dior",
                 lambda r: zero_bytes(r / "Annotations/Horizontal Bounding Boxes" / xml.name))
    assert err["message"] == preflight_line(
        tmp_path, "dior", 1, 9, f"{dior_image(world, xml.stem)} (read failed (ParseError: "
        f"no element found: line 1, column 0))")


def test_dior_greyscale_image(world, tmp_path):
    name = first(world["clean"] / "dior", "JPEGImages-test/*.jpg", 1).name
    err = failed(world, tmp_path, "dior", lambda r: greyscale(r / "JPEGImages-test" / name))
    assert err["message"] == preflight_line(
        tmp_path, "dior", 1, 9, f"JPEGImages-test/{name} (has 1 band(s), expected 3)")


def test_dior_xml_one_level_deeper_says_where_they_are(world, tmp_path):
    def nest(root):
        ann = root / "Annotations"
        (ann / "Horizontal Bounding Boxes").rename(tmp_path / "hbb")
        (ann / "DIOR").mkdir()
        (tmp_path / "hbb").rename(ann / "DIOR" / "Horizontal Bounding Boxes")

    err = failed(world, tmp_path, "dior", nest)
    root = tmp_path / "data" / "dior"
    assert err["message"].startswith(
        f"dataset 'dior' (DIOR) has no annotations in Annotations/Horizontal Bounding Boxes/ or "
        f"Annotations/ (found 9 .xml files under {root}/Annotations/DIOR/Horizontal Bounding "
        f"Boxes: move them there) at {root}: expected ")


def test_dior_renamed_image_folder_says_where_the_jpegs_are(world, tmp_path):
    err = failed(world, tmp_path, "dior",
                 lambda r: rename(r / "JPEGImages-test", "JPEGImages-test-1"))
    root = tmp_path / "data" / "dior"
    assert err["message"].startswith(
        f"dataset 'dior' (DIOR) has no JPEGImages-test/ folder (found 6 .jpg files under "
        f"{root}/JPEGImages-trainval: move them there) at {root}: expected ")


# -- nothing else is lost ----------------------------------------------------------------------

def test_a_bad_task_does_not_stop_the_good_ones(world, tmp_path):
    rc, recs = outcome(world, tmp_path, "ucmerced", lambda r: truncate(r / UCM_IMG),
                       "loveda", "aid")
    assert rc == 1
    assert {name: r["status"] for name, r in recs.items()} == {
        "bad_ucmerced": "failed", "good_loveda": "ok", "good_aid": "ok"}
    good = recs["good_aid"]["timings"]
    assert (good["preflight_files"], good["preflight_cached"]) == (60.0, 0.0)


def test_a_re_run_pays_nothing_for_files_already_checked(world, tmp_path):
    rc, first_recs = outcome(world, tmp_path, "aid")
    assert rc == 0 and first_recs["bad_aid"]["timings"]["preflight_cached"] == 0.0
    shutil.rmtree(tmp_path / "out")  # the same data and cache, a new results folder
    from rsbench import hashcache

    hashcache.forget_in_memory()  # as a new process: only the cache folder remembers
    task = tmp_path / "bad_aid.yaml"
    assert run(world["card"], tmp_path / "data", tmp_path / "out", [task], tmp_path / "cache") == 0
    assert records(tmp_path / "out")["bad_aid"]["timings"]["preflight_cached"] == 1.0
    # A file rewritten since (new size and mtime) is checked again, and found.
    path = tmp_path / "data/aid/AID/Airport/airport_1.jpg"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(path, format="JPEG")
    shutil.rmtree(tmp_path / "out")
    assert run(world["card"], tmp_path / "data", tmp_path / "out", [task], tmp_path / "cache") == 1
    assert "has 1 band(s) (mode L)" in records(tmp_path / "out")["bad_aid"]["error"]["message"]
