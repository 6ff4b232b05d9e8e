"""So2Sat through rsbench equals torchgeo 0.8.1's own ``So2Sat(version="2")`` on the same files."""

from pathlib import Path

import numpy as np
import pytest
import torch
from fake_data import generator

from rsbench.bands.plan import data_sensor
from rsbench.config import DatasetSpec, SpecError
from rsbench.data import build_classification_data
from rsbench.data.errors import DataError, DatasetNotFound

S2 = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
TG_S2 = tuple(f"S2_{b}" for b in S2)
LABELS = generator("so2sat").LABELS
FILES = {"train": "training.h5", "val": "validation.h5", "test": "testing.h5"}
TG_SPLITS = {"train": "train", "val": "validation", "test": "test"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A data root holding ``so2sat/`` (the fake)."""
    data = tmp_path_factory.mktemp("so2sat_data")
    generator("so2sat").make(data / "so2sat")
    return data


def spec(**dataset) -> DatasetSpec:
    base = {"name": "so2sat", "split": {"kind": "official"}, "image_size": 32, "bands": S2}
    return DatasetSpec(**{**base, **dataset})


def built(root: Path, tmp_path: Path, **dataset):
    return build_classification_data(spec(**dataset), root, tmp_path / "splits")


def theirs(root: Path, split: str, bands: tuple[str, ...]):
    from torchgeo.datasets import So2Sat

    return So2Sat(str(root / "so2sat"), version="2", split=TG_SPLITS[split], bands=bands)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_s2_rows_and_labels_equal_torchgeos_items(root, tmp_path, split):
    ours = getattr(built(root, tmp_path), split)
    ref = theirs(root, split, TG_S2)
    assert len(ours) == len(ref) == len(LABELS[FILES[split]])
    for i in range(len(ref)):
        image, label = ours[i]
        item = ref[i]
        assert image.shape == item["image"].shape == (10, 32, 32)
        # torchgeo's float64 -> float32 values; reflectance above 1.0 is clipped here.
        assert torch.equal(image, item["image"].clamp(0.0, 1.0))
        assert label == int(item["label"]) == LABELS[FILES[split]][i]
    assert any(bool((ref[i]["image"] > 1.0).any()) for i in range(len(ref)))


def test_s1_is_torchgeos_lee_filtered_vv_vh_and_all_puts_s1_first(root, tmp_path):
    s1 = built(root, tmp_path, variant="s1", bands=("VV", "VH")).test
    both = built(root, tmp_path, variant="all", bands=("s1:VV", "s1:VH", *S2)).test
    ref_s1 = theirs(root, "test", ("S1_B6", "S1_B5"))
    ref_s2 = theirs(root, "test", TG_S2)
    for i in range(len(ref_s1)):
        # By hand: intensity -> dB -> -50 dB is 0, +10 dB is 1.
        unit = ((10.0 * torch.log10(ref_s1[i]["image"]) + 50.0) / 60.0).clamp(0.0, 1.0)
        assert torch.equal(s1[i][0], unit)
        assert torch.equal(both[i][0], torch.cat([unit, ref_s2[i]["image"].clamp(0.0, 1.0)]))


def test_classes_are_torchgeos_order_and_labels_the_hand_chosen(root, tmp_path):
    from torchgeo.datasets import So2Sat

    data = built(root, tmp_path)
    assert data.classes == list(So2Sat.classes) and len(data.classes) == 17
    assert data.classes[0] == "Compact high rise" and data.classes[16] == "Water"
    assert data.train.targets == LABELS["training.h5"]
    assert data.test.samples[1] == ("testing.h5#1", 0)
    assert data.summary()["n_train"] == 8 and data.summary()["n_test"] == 5


def test_band_plan_sees_each_variants_sensor():
    assert data_sensor(spec()) == ("s2_l1c", 1.0, 0.0)
    assert data_sensor(spec(variant="s1", bands=("VV", "VH"))) == ("s1", 60.0, -50.0)


def test_preflight_and_fingerprint_use_the_three_files(root, tmp_path):
    from rsbench.data.preflight import preflight
    from rsbench.data.split_files import dataset_fingerprint
    from rsbench.engine.feature_store import image_id

    data = built(root, tmp_path)
    assert preflight(data, "so2sat_test")["preflight_files"] == 3.0
    assert data.fingerprint == dataset_fingerprint(root / "so2sat", list(FILES.values()))
    first, second = (image_id(root / "so2sat" / f"testing.h5#{i}") for i in (0, 1))
    assert first != second and first.split("|")[1:] == second.split("|")[1:]


def test_missing_files_bad_labels_and_wrong_specs_are_one_line(root, tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        built(tmp_path, tmp_path)
    message = str(err.value)
    assert "\n" not in message and f"not found at {tmp_path / 'so2sat'}" in message
    assert "training.h5, validation.h5, testing.h5" in message and "m1483140" in message
    with pytest.raises(SpecError, match="allowed: VV, VH"):
        built(root, tmp_path, variant="s1", bands=("B02",))
    with pytest.raises(SpecError, match="dataset.split.kind: official"):
        built(root, tmp_path, split={"kind": "ratio", "train": 0.8, "test": 0.2, "seed": 0})
    import h5py

    bad = generator("so2sat").make(tmp_path / "bad" / "so2sat")
    with h5py.File(bad / "validation.h5", "r+") as h5:
        h5["label"][1] = np.zeros(17)
    with pytest.raises(DataError, match="validation.h5 label row 1 is not one-hot"):
        built(tmp_path / "bad", tmp_path)


def test_without_h5py_the_error_says_what_to_install(root, tmp_path, monkeypatch):
    from rsbench.errors import UserError

    monkeypatch.setitem(__import__("sys").modules, "h5py", None)  # import h5py fails
    with pytest.raises(UserError, match="needs h5py; pip install h5py"):
        built(root, tmp_path)
