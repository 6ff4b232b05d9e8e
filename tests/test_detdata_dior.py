"""DIOR reader, VOC parsing and the synthetic generator, on fake data in the official layout."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_data import generator
from torchgeo.datasets import DIOR

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound, SplitSpecError
from rsbench.data.detection import (
    DIOR_CLASSES,
    build_detection_data,
    make_synthetic_dior,
    parse_voc_xml,
)
from rsbench.data.detection.synthetic import class_colour
from rsbench.registry import RegistryError

VOC_XML = """<annotation>
  <filename>00001.jpg</filename>
  <object><name>Expressway-Service-area</name><difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>11</ymin><xmax>10</xmax><ymax>30</ymax></bndbox></object>
  <object><name>airplane</name>
    <bndbox><xmin>101.0</xmin><ymin>5</ymin><xmax>200</xmax><ymax>55</ymax></bndbox></object>
</annotation>
"""


def dior_spec(**split) -> DatasetSpec:
    return DatasetSpec(name="dior", split={"kind": "official", **split}, image_size=64)


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_classes_are_torchgeos():
    assert DIOR_CLASSES == tuple(DIOR.classes)  # read from it (rsbench.data.torchgeo_meta)
    assert len(DIOR_CLASSES) == 20 and DIOR_CLASSES[0] == "airplane"  # the DIOR paper's first


def test_voc_xml_by_hand(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text(VOC_XML)
    ann = parse_voc_xml(path, DIOR_CLASSES)
    # 1-based inclusive -> 0-based continuous: x1 = xmin - 1, y1 = ymin - 1, x2 = xmax, y2 = ymax
    assert ann.boxes.tolist() == [[0, 10, 10, 30], [100, 4, 200, 55]]
    assert ann.boxes.dtype == np.float32
    assert ann.labels.tolist() == [DIOR_CLASSES.index("expresswayservicearea"), 0]
    assert ann.difficult.tolist() == [True, False]


def test_voc_unknown_class_names_file(tmp_path):
    path = tmp_path / "b.xml"
    path.write_text(VOC_XML.replace("airplane", "zeppelin"))
    with pytest.raises(ValueError, match="zeppelin") as err:
        parse_voc_xml(path, DIOR_CLASSES)
    assert "b.xml" in str(err.value)


def test_synthetic_is_deterministic(tmp_path):
    make_synthetic_dior(tmp_path / "a" / "dior", 12, 128, seed=3)
    make_synthetic_dior(tmp_path / "b" / "dior", 12, 128, seed=3)
    make_synthetic_dior(tmp_path / "c" / "dior", 12, 128, seed=4)
    a = tree_digest(tmp_path / "a" / "dior")
    assert a == tree_digest(tmp_path / "b" / "dior")
    assert a != tree_digest(tmp_path / "c" / "dior")
    assert len([p for p in a if p.endswith(".jpg")]) == 36


def test_synthetic_boxes_hold_their_class_colour(tmp_path):
    root = generator("dior").make(tmp_path / "dior", n_per_split=4, size=96)
    data = build_detection_data(dior_spec(), tmp_path, tmp_path / "splits")
    n_objects = n_difficult = 0
    for image, target in [data.train[i] for i in range(len(data.train))]:
        assert image.dtype == torch.float32 and image.shape == (3, 96, 96)
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64
        assert target["difficult"].dtype == torch.bool
        for (x1, y1, x2, y2), k in zip(target["boxes"].tolist(), target["labels"].tolist(),
                                       strict=True):
            centre = image[:, int((y1 + y2) / 2), int((x1 + x2) / 2)].numpy()
            assert np.abs(centre - class_colour(k)).max() < 0.2
        n_objects += len(target["labels"])
        n_difficult += int(target["difficult"].sum())
    assert n_objects >= len(data.train) and root.name == "dior"
    assert 0 <= n_difficult < n_objects


def test_official_trainval_test_with_carved_val(tmp_path):
    generator("dior").make(tmp_path / "dior", n_per_split=6)
    data = build_detection_data(dior_spec(val_fraction=0.25, seed=1), tmp_path,
                                tmp_path / "splits")
    summary = data.summary()
    assert (summary["n_train"], summary["n_val"], summary["n_test"]) == (9, 3, 6)
    assert summary["num_classes"] == 20 and summary["split"]["name"] == "trainval-test"
    train = {img for img, _ in data.train.samples}
    val = {img for img, _ in data.val.samples}
    assert not train & val and all(p.startswith("JPEGImages-trainval/") for p in train | val)
    assert all(p.startswith("JPEGImages-test/") for p, _ in data.test.samples)
    doc = json.loads(data.split_file.read_text())
    assert doc["counts"] == {"train": 9, "val": 3, "test": 6}
    assert hashlib.sha256(data.split_file.read_bytes()).hexdigest() == data.split_hash
    again = build_detection_data(dior_spec(val_fraction=0.25, seed=1), tmp_path,
                                 tmp_path / "splits")
    assert (again.split_hash, again.fingerprint) == (data.split_hash, data.fingerprint)
    other = build_detection_data(dior_spec(val_fraction=0.25, seed=2), tmp_path,
                                 tmp_path / "splits")
    assert other.split_file != data.split_file


def test_dior_own_val_and_flat_annotations(tmp_path):
    generator("dior").make(tmp_path / "dior", n_per_split=3, flat=True)
    data = build_detection_data(dior_spec(name="train-val-test"), tmp_path, tmp_path / "s")
    assert (len(data.train), len(data.val), len(data.test)) == (3, 3, 3)
    assert data.train.samples[0][1].startswith("Annotations/0")
    with pytest.raises(SplitSpecError, match="val_fraction"):
        build_detection_data(dior_spec(name="train-val-test", val_fraction=0.1), tmp_path,
                             tmp_path / "s")
    with pytest.raises(SplitSpecError, match="name must be one of"):
        build_detection_data(dior_spec(name="mmdet"), tmp_path, tmp_path / "s")


def test_missing_and_incomplete_data_messages(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        build_detection_data(dior_spec(), tmp_path, tmp_path / "s")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "dior") in message
    assert "JPEGImages-trainval" in message and "ImageSets/Main" in message
    assert "https://" in message
    (tmp_path / "dior").mkdir()
    (tmp_path / "dior" / "sample_df.csv").write_text("image_path,label_path,split\n")
    with pytest.raises(DatasetNotFound, match="torchgeo's repackaged copy"):
        build_detection_data(dior_spec(), tmp_path, tmp_path / "s")
    (tmp_path / "dior" / "sample_df.csv").unlink()
    root = generator("dior").make(tmp_path / "dior", n_per_split=2)
    (root / "JPEGImages-test" / "00005.jpg").unlink()
    with pytest.raises(DatasetNotFound, match="incomplete.*00005.jpg"):
        build_detection_data(dior_spec(), tmp_path, tmp_path / "s")


def test_unknown_dataset_lists_known():
    spec = DatasetSpec(name="diorr", split={"kind": "official"}, image_size=64)
    with pytest.raises(RegistryError) as err:
        build_detection_data(spec, Path("/nonexistent"), Path("/nonexistent"))
    assert "dior" in str(err.value) and "dota" in str(err.value) and "xview" in str(err.value)
