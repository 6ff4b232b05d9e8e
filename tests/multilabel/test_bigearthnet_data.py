"""BigEarthNet through rsbench equals torchgeo 0.8.1's own ``BigEarthNet(bands="s2")`` items."""

from pathlib import Path

import pytest
import torch
from fake_bigearthnet import PATCHES

from rsbench.config import DatasetSpec, SpecError
from rsbench.data.bigearthnet import S2_BANDS
from rsbench.data.errors import DatasetNotFound, SplitSpecError
from rsbench.tasks import multilabel


class Task:
    def __init__(self, **dataset):
        base = {"name": "bigearthnet", "split": {"kind": "official"}, "image_size": 120,
                "bands": S2_BANDS}
        self.dataset = DatasetSpec(**{**base, **dataset})


def built(root: Path, tmp_path: Path, **dataset):
    return multilabel.build_data(Task(**dataset), root, tmp_path / "cache", download=False)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_images_and_labels_equal_torchgeos_items(bigearthnet_root, tmp_path, split):
    from torchgeo.datasets import BigEarthNet

    ours = getattr(built(bigearthnet_root, tmp_path), split)
    theirs = BigEarthNet(str(bigearthnet_root / "bigearthnet"), split=split, bands="s2",
                         num_classes=19)
    assert len(ours) == len(theirs) == sum(s == split for s, _ in PATCHES)
    for i in range(len(theirs)):
        image, target = ours[i]
        item = theirs[i]
        assert image.shape == item["image"].shape == (12, 120, 120)
        # torchgeo's int32 DN as float32, over 10,000: the same bits (every DN is < 10,000).
        assert torch.equal(image, item["image"] / 10000.0)
        assert torch.equal(target, item["label"])


def test_rgb_bands_are_torchgeos_b04_b03_b02(bigearthnet_root, tmp_path):
    from torchgeo.datasets import BigEarthNet

    image, _ = built(bigearthnet_root, tmp_path, bands=("B04", "B03", "B02")).test[0]
    item = BigEarthNet(str(bigearthnet_root / "bigearthnet"), split="test", bands="s2")[0]
    assert torch.equal(image, item["image"][[3, 2, 1]] / 10000.0)


def test_labels_map_43_names_to_19_classes_by_hand(bigearthnet_root, tmp_path):
    data = built(bigearthnet_root, tmp_path)
    assert len(data.classes) == 19 and data.classes[0] == "Urban fabric"
    # Both urban fabrics -> 0 "Urban fabric"; Airports is outside the 19 classes (dropped).
    assert data.train.samples[0][1] == (0,)
    assert data.train.samples[1][1] == (4, 8)  # Pastures, Broad-leaved forest
    assert data.test.samples[4][1] == ()  # only Airports: no label
    assert data.test.targets[4] == [0] * 19
    assert data.summary()["n_train"] == 6 and data.summary()["num_classes"] == 19
    # Test labels: urban 0, arable 2, pastures 4, broad-leaved 8, coniferous 9, marine 18.
    assert data.summary()["classes_without_test_positive"] == [
        data.classes[i] for i in range(19) if i not in (0, 2, 4, 8, 9, 18)]


def test_missing_data_names_the_folder_and_the_download(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        built(tmp_path, tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert f"not found at {tmp_path / 'bigearthnet'}" in message
    assert "BigEarthNet-v1.0/<patch>/<patch>_B01.tif" in message
    assert "bigearthnet-train.csv" in message and "--download" in message


def test_ratio_split_and_unknown_band_are_refused(bigearthnet_root, tmp_path):
    with pytest.raises(SplitSpecError, match="kind: official"):
        built(bigearthnet_root, tmp_path, split={"kind": "ratio", "train": 0.8, "test": 0.2})
    with pytest.raises(SpecError, match="B10"):
        built(bigearthnet_root, tmp_path, bands=("B10",))


def test_a_classification_task_on_bigearthnet_is_one_line(bigearthnet_root, tmp_path):
    from rsbench.data import build_classification_data

    spec = Task().dataset
    with pytest.raises(SpecError, match="is multi-label: its tasks have type: multilabel"):
        build_classification_data(spec, bigearthnet_root, tmp_path)


def test_a_single_label_dataset_in_a_multilabel_task_is_one_line(tmp_path):
    import dataclasses

    from rsbench.config import SpecError, find_task
    from rsbench.tasks.multilabel import build_data

    task = find_task("bigearthnet_s2_knn")
    task = dataclasses.replace(task, dataset=dataclasses.replace(task.dataset, name="ucmerced"))
    with pytest.raises(SpecError) as err:
        build_data(task, tmp_path, tmp_path / "cache", download=False)
    assert str(err.value) == (f"{task.path}: dataset 'ucmerced' is not multi-label "
                              "(multi-label datasets: bigearthnet, bigearthnet_v2)")
