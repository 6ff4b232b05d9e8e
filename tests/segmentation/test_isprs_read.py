"""Reading ISPRS folders: both class protocols from one preparation, an mmseg-prepared folder
read directly, and the variant checks between task and manifest."""

import json

import numpy as np
import pytest
from fake_data import generator
from PIL import Image

from rsbench.config import DatasetSpec, SpecError
from rsbench.data import DatasetNotFound
from rsbench.data.segmentation import build_segmentation_data, prepare_isprs

OFFICIAL = {"kind": "official"}


def spec(name: str, variant: str | None) -> DatasetSpec:
    return DatasetSpec(name, OFFICIAL, 32, variant=variant)


def mmseg_folder(root, patches: dict[str, np.ndarray]) -> None:
    """A folder as mmseg's converter leaves it: ``{split}/{name}`` -> stored label 0..6."""
    for rel, label in patches.items():
        for kind, arr in (("img_dir", np.full(label.shape + (3,), 9, np.uint8)),
                          ("ann_dir", label)):
            path = root / kind / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(path)


STORED = np.array([[0, 1, 2, 3], [4, 5, 6, 255]], np.uint8)


def test_mmseg_prepared_folder_is_read_directly_both_protocols(tmp_path):
    root = tmp_path / "potsdam"
    mmseg_folder(root, {"train/2_10_0_0_4_2.png": STORED, "train/6_7_0_0_4_2.png": STORED,
                        "val/5_15_0_0_4_2.png": STORED})
    six = build_segmentation_data(spec("potsdam", "rgb-eroded-6cls"), tmp_path, tmp_path / "s")
    assert six.test[0][1].tolist() == [[255, 0, 1, 2], [3, 4, 5, 255]]
    assert len(six.classes) == 6 and len(six.train) == 2
    prepared = six.summary()["prepared"]
    assert prepared["variant_verified"] is False and prepared["subset"] is True
    assert prepared["variant"]["class_protocol"] == "6cls"
    five = build_segmentation_data(spec("potsdam", "rgb-eroded-5cls"), tmp_path, tmp_path / "s")
    assert five.test[0][1].tolist() == [[255, 0, 1, 2], [3, 4, 255, 255]]
    assert five.classes == ["impervious_surface", "building", "low_vegetation", "tree", "car"]
    assert six.split_file != five.split_file


def test_mmseg_folder_refusals(tmp_path):
    root = tmp_path / "potsdam"
    mmseg_folder(root, {"train/5_15_0_0_4_2.png": STORED, "val/5_15_0_0_4_2.png": STORED})
    with pytest.raises(DatasetNotFound, match="img_dir/train/5_15_0_0_4_2.png, not a patch of an "
                                              "official train tile"):
        build_segmentation_data(spec("potsdam", "rgb-eroded-6cls"), tmp_path, tmp_path / "s")
    with pytest.raises(DatasetNotFound, match="taken as mmseg's converter output.*'pangaea'"):
        build_segmentation_data(spec("potsdam", "pangaea-5cls"), tmp_path, tmp_path / "s")
    v = tmp_path / "vaihingen"
    mmseg_folder(v, {"train/area1_0_0_4_2.png": STORED, "val/area2_0_0_4_2.png": STORED})
    (v / "ann_dir" / "val" / "area2_0_0_4_2.png").unlink()
    with pytest.raises(DatasetNotFound, match="1 masks missing, e.g. ann_dir/val/area2"):
        build_segmentation_data(spec("vaihingen", "irrg-eroded-6cls"), tmp_path, tmp_path / "s")
    rgb = np.zeros((2, 4, 3), np.uint8)
    Image.fromarray(rgb).save(v / "ann_dir" / "val" / "area2_0_0_4_2.png")
    data = build_segmentation_data(spec("vaihingen", "irrg-eroded-6cls"), tmp_path,
                                   tmp_path / "s2")
    with pytest.raises(ValueError, match="not an ISPRS label in mmseg's encoding"):
        data.test[0]


def test_task_variant_must_match_the_manifest(tmp_path):
    raw = generator("vaihingen").make(tmp_path / "raw", tiles=["1", "2"])
    root = tmp_path / "data" / "vaihingen"
    prepare_isprs("vaihingen", raw, root, patch=32, tiles=["1", "2"])
    data = build_segmentation_data(spec("vaihingen", "irrg-eroded-5cls"), tmp_path / "data",
                                   tmp_path / "s")
    assert data.summary()["prepared"]["subset"] is True
    assert data.summary()["prepared"]["variant"]["labels"] == "eroded"
    with pytest.raises(DatasetNotFound) as err:
        build_segmentation_data(spec("vaihingen", "irrg-full-6cls"), tmp_path / "data",
                                tmp_path / "s")
    message = str(err.value)
    assert "\n" not in message and f"{root / 'manifest.json'}: prepared as variant " \
        "'irrg-eroded' but the task reads 'irrg-full-6cls'" in message
    assert "--variant irrg-full" in message
    manifest = json.loads((root / "manifest.json").read_text())
    (root / "manifest.json").write_text(json.dumps({**manifest, "format": "rsbench-prepared/1"}))
    with pytest.raises(DatasetNotFound, match="rsbench-prepared/1.*prepare it again"):
        build_segmentation_data(spec("vaihingen", "irrg-eroded-5cls"), tmp_path / "data",
                                tmp_path / "s")


def test_dataset_variant_is_required_and_checked(tmp_path):
    with pytest.raises(SpecError, match="dataset.variant is required for potsdam; one of: "
                                        "rgb-eroded-6cls, rgb-eroded-5cls"):
        build_segmentation_data(spec("potsdam", None), tmp_path, tmp_path / "s")
    with pytest.raises(SpecError, match="'rgb-eroded-7cls', unknown"):
        build_segmentation_data(spec("potsdam", "rgb-eroded-7cls"), tmp_path, tmp_path / "s")
    with pytest.raises(SpecError, match="'loveda' has no variants"):
        build_segmentation_data(spec("loveda", "rgb-eroded-6cls"), tmp_path, tmp_path / "s")
