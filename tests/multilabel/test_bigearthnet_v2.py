"""BigEarthNet v2 through rsbench equals torchgeo 0.8.1's own ``BigEarthNetV2`` items."""

from pathlib import Path

import pytest
import torch
from fake_data import generator
from test_bigearthnet_s1 import rounds_to

from rsbench.config import DatasetSpec, SpecError
from rsbench.data.errors import DataError, DatasetNotFound
from rsbench.data.multilabel_patches import S2_BANDS
from rsbench.tasks import multilabel

PATCHES = generator("bigearthnet_v2").PATCHES
TG_SPLIT = {"train": "train", "val": "validation", "test": "test"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A data root holding ``bigearthnet_v2/`` (the fake)."""
    data = tmp_path_factory.mktemp("ben2_data")
    generator("bigearthnet_v2").make(data / "bigearthnet_v2")
    return data


class Task:
    def __init__(self, **dataset):
        base = {"name": "bigearthnet_v2", "split": {"kind": "official"}, "image_size": 120,
                "bands": S2_BANDS}
        self.dataset = DatasetSpec(**{**base, **dataset})


def built(root: Path, tmp_path: Path, **dataset):
    return multilabel.build_data(Task(**dataset), root, tmp_path / "cache", download=False)


def theirs(root: Path, split: str, bands: str):
    from torchgeo.datasets import BigEarthNetV2

    return BigEarthNetV2(str(root / "bigearthnet_v2"), split=split, bands=bands)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_s2_images_and_labels_equal_torchgeos_items(root, tmp_path, split):
    ours = getattr(built(root, tmp_path), split)
    ref = theirs(root, split, "s2")
    assert len(ours) == len(ref) == sum(s == TG_SPLIT[split] for s, _ in PATCHES)
    for i in range(len(ref)):
        image, target = ours[i]
        item = ref[i]
        assert image.shape == item["image"].shape == (12, 120, 120)
        assert torch.equal(image, item["image"] / 10000.0)  # every fake DN is below 10,000
        assert torch.equal(target, item["label"])


def test_s1_and_all_equal_torchgeos_images(root, tmp_path):
    s1 = built(root, tmp_path, variant="s1", bands=("VV", "VH")).test
    both = built(root, tmp_path, variant="all", bands=("s1:VV", "s1:VH", *S2_BANDS)).test
    ref = theirs(root, "test", "all")
    for i in range(len(ref)):
        # torchgeo: the folder's files sorted (VH before VV), cast to int32 dB.
        assert rounds_to(s1[i][0], ref[i]["image_s1"][[1, 0]])
        assert torch.equal(both[i][0][:2], s1[i][0])
        assert torch.equal(both[i][0][2:], ref[i]["image_s2"] / 10000.0)
        assert torch.equal(s1[i][1], ref[i]["label"]) and torch.equal(both[i][1], ref[i]["label"])


def test_labels_and_order_are_the_metadatas_by_hand(root, tmp_path):
    data = built(root, tmp_path)
    assert data.classes[18] == "Marine waters" and len(data.classes) == 19
    # Train rows are metadata rows 0, 2, 4, 6: urban 0 + industrial 1; broad-leaved 8, mixed 10,
    # transitional 13; marine 18 + beaches 14; arable 2 + complex cultivation 5.
    assert [labels for _, labels in data.train.samples] == [(0, 1), (8, 10, 13), (14, 18), (2, 5)]
    rel = data.test.samples[0][0]
    assert rel.startswith("BigEarthNet-S2/S2A_MSIL2A_20170611T101031_N9999_R022_T32TQT/")
    assert rel.endswith("_21_51_B02.tif")
    s1 = built(root, tmp_path, variant="s1", bands=("VV",)).test.samples
    assert s1[0][0].startswith("BigEarthNet-S1/S1A_IW_GRDH_1SDV_20170611T165043/")
    assert [lab for _, lab in s1] == [lab for _, lab in data.test.samples]
    assert data.summary()["classes_without_test_positive"] == [
        data.classes[i] for i in range(19) if i not in (0, 2, 9, 11, 18)]


def test_missing_data_unknown_class_and_bad_specs_are_one_line(root, tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        built(tmp_path, tmp_path)
    message = str(err.value)
    assert "\n" not in message and f"not found at {tmp_path / 'bigearthnet_v2'}" in message
    assert "BigEarthNet-S2/<tile>/<patch>/<patch>_B01.tif" in message
    assert "metadata.parquet" in message and "--download" in message
    with pytest.raises(SpecError, match="BigEarthNet v2 has s2, s1, all"):
        built(root, tmp_path, variant="s3")
    with pytest.raises(SpecError, match="allowed: s1:VV, s1:VH, B01"):
        built(root, tmp_path, variant="all", bands=("VV",))
    import pandas as pd

    bad = tmp_path / "bad" / "bigearthnet_v2"
    generator("bigearthnet_v2").make(bad)
    frame = pd.read_parquet(bad / "metadata.parquet")
    frame.at[3, "labels"] = ["Arable land", "Rice fields"]  # a 43-class name
    frame.to_parquet(bad / "metadata.parquet")
    with pytest.raises(DataError, match=r"label\(s\) \['Rice fields'\] outside the 19 classes"):
        built(tmp_path / "bad", tmp_path)


def test_without_pyarrow_the_error_says_what_to_install(root, tmp_path, monkeypatch):
    from rsbench.errors import UserError

    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # import pyarrow fails
    with pytest.raises(UserError, match="metadata.parquet: reading BigEarthNet v2's metadata "
                                        "needs pyarrow; pip install pyarrow"):
        built(root, tmp_path)
