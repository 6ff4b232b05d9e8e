"""LoveDA through rsbench.data.segmentation on fake data in its real layout."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_data import generator
from PIL import Image
from torchvision.transforms import v2

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound, SplitSpecError
from rsbench.data.segmentation import build_segmentation_data, make_synthetic_loveda
from rsbench.data.segmentation.loveda import MASK_LUT
from rsbench.registry import RegistryError


def spec(split: dict | None = None, name: str = "loveda") -> DatasetSpec:
    return DatasetSpec(name=name, split=split or {"kind": "official"}, image_size=512)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("segdata") / "data"
    generator("loveda").make(root / "loveda", n_per_split=6, size=32, seed=0)
    return root


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_synthetic_layout_and_byte_identical(tmp_path):
    a = make_synthetic_loveda(tmp_path / "a" / "loveda", 4, 32, seed=3)
    b = make_synthetic_loveda(tmp_path / "b" / "loveda", 4, 32, seed=3)
    c = make_synthetic_loveda(tmp_path / "c" / "loveda", 4, 32, seed=4)
    assert tree_digest(a) == tree_digest(b) != tree_digest(c)
    files = tree_digest(a)
    for split in ("Train", "Val", "Test"):
        for domain in ("Urban", "Rural"):
            assert any(f.startswith(f"{split}/{domain}/images_png/") for f in files)
    assert not any(f.startswith("Test/") and "masks_png" in f for f in files)
    mask_file = next(a.glob("Train/*/masks_png/*.png"))
    with Image.open(mask_file) as m:
        assert m.mode == "L"
    values = np.unique(np.concatenate([np.asarray(Image.open(p)).ravel()
                                       for p in a.glob("*/*/masks_png/*.png")]))
    assert set(values) <= set(range(8)) and 0 in values and len(values) >= 6


def test_mask_mapping():
    raw = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 255], np.uint8)
    assert MASK_LUT[raw].tolist() == [255, 0, 1, 2, 3, 4, 5, 6, 255, 255]


def test_reader_shapes_dtypes_ranges(data_root, tmp_path):
    data = build_segmentation_data(spec(), data_root, tmp_path / "splits")
    assert data.classes == ["background", "building", "road", "water", "barren", "forest",
                            "agriculture"]
    assert data.ignore_index == 255
    assert (len(data.train), len(data.val), len(data.test)) == (6, 0, 6)
    for ds in (data.train, data.test):
        image, mask = ds[0]
        assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert mask.dtype == torch.int64 and mask.shape == (32, 32)
        assert set(mask.unique().tolist()) <= set(range(7)) | {255}
    # no-data pixels (raw 0) are ignored, raw k maps to k - 1
    img_rel, mask_rel = data.train.samples[0]
    raw = np.asarray(Image.open(data_root / "loveda" / mask_rel))
    assert torch.equal(data.train[0][1], torch.from_numpy(MASK_LUT[raw]).long())
    summary = data.summary()
    assert summary["n_test"] == 6 and summary["num_classes"] == 7
    assert summary["ignore_index"] == 255 and summary["split_hash"] == data.split_hash
    text = data.split_file.read_text()
    assert "Val/Urban/images_png" in text and "withheld" in text


def test_val_carved_from_train_and_split_hash_deterministic(data_root, tmp_path):
    split = {"kind": "official", "val_fraction": 0.34, "seed": 1}
    a = build_segmentation_data(spec(split), data_root, tmp_path / "a")
    b = build_segmentation_data(spec(split), data_root, tmp_path / "b")
    assert a.split_hash == b.split_hash and a.fingerprint == b.fingerprint
    assert a.split_file.read_bytes() == b.split_file.read_bytes()
    assert (len(a.train), len(a.val), len(a.test)) == (4, 2, 6)
    assert not set(a.train.samples) & set(a.val.samples)
    assert all(s[0].startswith("Train/") for s in a.train.samples + a.val.samples)
    again = build_segmentation_data(spec(split), data_root, tmp_path / "a")  # reuse same file
    assert again.split_hash == a.split_hash
    other = build_segmentation_data(spec({**split, "seed": 7}), data_root, tmp_path / "a")
    assert other.split_file != a.split_file


def test_train_transform_applied_jointly(data_root, tmp_path):
    flip = v2.RandomHorizontalFlip(p=1.0)
    plain = build_segmentation_data(spec(), data_root, tmp_path / "s")
    flipped = build_segmentation_data(spec(), data_root, tmp_path / "s", train_transform=flip)
    image, mask = plain.train[1]
    f_image, f_mask = flipped.train[1]
    assert type(f_image) is torch.Tensor and type(f_mask) is torch.Tensor
    assert f_mask.dtype == torch.int64
    assert torch.equal(f_image, image.flip(-1)) and torch.equal(f_mask, mask.flip(-1))
    assert torch.equal(flipped.test[0][1], plain.test[0][1])  # not on test


def test_unknown_dataset_and_bad_split(data_root, tmp_path):
    with pytest.raises(RegistryError, match="known: isaid, loveda, potsdam, vaihingen"):
        build_segmentation_data(spec(name="lovedaa"), data_root, tmp_path)
    with pytest.raises(SplitSpecError, match="kind"):
        build_segmentation_data(spec({"kind": "ratio"}), data_root, tmp_path)
    with pytest.raises(SplitSpecError, match="val_fraction"):
        build_segmentation_data(spec({"kind": "official", "val_fraction": 1.0}), data_root,
                                tmp_path)


def test_missing_data_message(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        build_segmentation_data(spec(), tmp_path / "nowhere", tmp_path / "splits")
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / "nowhere" / "loveda") in message
    assert "images_png" in message and "zenodo.org/records/5706578" in message


def test_download_is_called_only_when_data_is_absent(tmp_path, monkeypatch):
    from rsbench.data.segmentation.loveda import LoveDAAdapter

    calls = []

    def fake_download(self, root):
        calls.append(root)
        make_synthetic_loveda(root, 2, 16, seed=0)

    monkeypatch.setattr(LoveDAAdapter, "download", fake_download)
    data = build_segmentation_data(spec(), tmp_path / "data", tmp_path / "s", download=True)
    assert calls == [tmp_path / "data" / "loveda"] and len(data.train) == 2
    build_segmentation_data(spec(), tmp_path / "data", tmp_path / "s", download=True)
    assert len(calls) == 1
