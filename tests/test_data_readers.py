"""Dataset adapters on fake data in each dataset's real on-disk layout (tests/data/*/make.py)."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from fake_data import generator
from PIL import Image

from rsbench.config import DatasetSpec, SpecError
from rsbench.data import (
    DATASETS,
    DatasetNotFound,
    SplitSpecError,
    build_classification_data,
    dataset_adapter,
)
from rsbench.registry import RegistryError

RATIO = {"kind": "ratio", "train": 0.5, "test": 0.5, "val_fraction": 0.0, "seed": 0}
NUM_CLASSES = {"ucmerced": 21, "resisc45": 45, "eurosat": 10, "aid": 30}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    for name in NUM_CLASSES:
        generator(name).make(root / name, n_per_class=5, size=8, seed=0)
    return root


def build(name, data_root, tmp_path, split=RATIO, size=8, download=False, **kw):
    spec = DatasetSpec(name=name, split=split, image_size=size, **kw)
    return build_classification_data(spec, data_root, tmp_path / "splits", download=download)


@pytest.mark.parametrize("name", sorted(NUM_CLASSES))
def test_ratio_split_images_are_unit_float_tensors(name, data_root, tmp_path):
    data = build(name, data_root, tmp_path, size=12)
    assert len(data.classes) == NUM_CLASSES[name] and data.classes == sorted(data.classes)
    assert (len(data.train), len(data.val), len(data.test)) == (NUM_CLASSES[name] * 3, 0,
                                                               NUM_CLASSES[name] * 2)
    for part in (data.train, data.test):
        img, label = part[len(part) - 1]
        assert img.dtype == torch.float32 and img.shape == (3, 12, 12)
        assert 0.0 <= img.min() and img.max() <= 1.0 and img.std() > 0
        assert isinstance(label, int) and label == NUM_CLASSES[name] - 1
    assert data.split_file.name == f"{name}_ratio_0.5_0.5_val0.0_seed0.json"


@pytest.mark.parametrize(("name", "torchgeo_name"), [
    ("ucmerced", "UCMerced"), ("resisc45", "RESISC45"), ("eurosat", "EuroSAT"),
])
def test_official_split_is_torchgeos_split(name, torchgeo_name, data_root, tmp_path):
    import torchgeo.datasets as tgd

    data = build(name, data_root, tmp_path, split={"kind": "official"})
    assert data.split_file.name == f"{name}_official_torchgeo.json"
    assert len(data.split_hash) == 64
    root = data_root / name
    for split in ("train", "val", "test"):
        theirs = getattr(tgd, torchgeo_name)(root=str(root), split=split)
        want = sorted((Path(p).relative_to(root).as_posix(), theirs.classes[y])
                      for p, y in theirs.samples)
        ours = getattr(data, split)
        assert sorted((p, data.classes[y]) for p, y in ours.samples) == want
        assert len(ours) == NUM_CLASSES[name] * {"train": 3, "val": 1, "test": 1}[split]


def test_eurosat_spatial_split_is_torchgeos_eurosatspatial(data_root, tmp_path):
    from torchgeo.datasets import EuroSATSpatial

    data = build("eurosat", data_root, tmp_path, split={"kind": "official", "name": "spatial"})
    assert data.split_file.name == "eurosat_official_spatial.json"
    theirs = EuroSATSpatial(root=str(data_root / "eurosat"), split="test")
    assert {Path(p).name for p, _ in theirs.samples} == {Path(p).name for p, _ in data.test.samples}
    default = build("eurosat", data_root, tmp_path, split={"kind": "official"})
    assert default.test.samples != data.test.samples


def test_eurosat_rgb_is_b04_b03_b02_over_3000(data_root, tmp_path):
    data = build("eurosat", data_root, tmp_path)  # image_size 8 = file size: no resize
    rel, _ = data.train.samples[0]
    with rasterio.open(data_root / "eurosat" / rel) as src:
        raw = src.read().astype(np.float32)
    want = torch.from_numpy(np.clip(raw[[3, 2, 1]] / 3000.0, 0, 1))
    img, _ = data.train[0]
    assert torch.allclose(img, want)
    assert (img == 1.0).any()  # the fake values reach 6000: clipping is exercised
    bgr = build("eurosat", data_root, tmp_path / "bgr", bands=("B", "G", "R"))
    assert torch.equal(bgr.train[0][0], img.flip(0))


def test_rgb_decoding_matches_pillow_and_resize_is_antialiased(data_root, tmp_path):
    data = build("ucmerced", data_root, tmp_path)
    rel, _ = data.train.samples[0]
    pixels = np.asarray(Image.open(data_root / "ucmerced" / rel).convert("RGB"))
    want = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255
    assert torch.equal(data.train[0][0], want)
    small = build("ucmerced", data_root, tmp_path / "s", size=4)
    from torchvision.transforms.v2 import functional as F

    assert torch.allclose(small.train[0][0], F.resize(want, [4, 4], antialias=True))


def test_missing_dataset_says_where_and_how(tmp_path):
    spec = DatasetSpec(name="ucmerced", split=RATIO, image_size=8)
    with pytest.raises(DatasetNotFound) as err:
        build_classification_data(spec, tmp_path / "nowhere", tmp_path / "splits")
    msg = str(err.value)
    assert "\n" not in msg and "ucmerced" in msg.lower()
    assert str(tmp_path / "nowhere" / "ucmerced") in msg
    assert "UCMerced_LandUse/Images/<class>" in msg and "--download" in msg
    assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(DatasetNotFound, match=r"captain-whu\.github\.io/AID") as err:
        build("aid", tmp_path / "nowhere", tmp_path)
    assert "\n" not in str(err.value) and "AID/<Class>" in str(err.value)


def test_incomplete_dataset_and_missing_split_files(tmp_path):
    root = generator("resisc45").make(tmp_path / "resisc45", n_per_class=3, size=8, seed=1)
    (root / "resisc45-val.txt").unlink()
    with pytest.raises(DatasetNotFound, match="lacks the split files resisc45-val.txt"):
        build("resisc45", tmp_path, tmp_path, split={"kind": "official"})
    for f in (root / "NWPU-RESISC45" / "wetland").iterdir():
        f.unlink()
    with pytest.raises(DatasetNotFound, match="incomplete.*wetland"):
        build("resisc45", tmp_path, tmp_path)


def test_dataset_root_override(data_root, tmp_path):
    data = build("ucmerced", tmp_path / "elsewhere", tmp_path, root=str(data_root / "ucmerced"))
    assert data.root == data_root / "ucmerced" and len(data.test) == 42


def test_unknown_names_bands_and_splits_are_one_line_errors(data_root, tmp_path):
    known = "aid, eurosat, resisc45, so2sat, ucmerced"  # the scene datasets only
    with pytest.raises(RegistryError, match=f"known: {known}"):
        build("ucmerced2", data_root, tmp_path)
    with pytest.raises(SpecError, match="bands.*allowed: R, G, B"):
        build("ucmerced", data_root, tmp_path, bands=("R", "G", "NIR"))
    with pytest.raises(SplitSpecError, match="no official split"):
        build("aid", data_root, tmp_path, split={"kind": "official"})


@pytest.mark.parametrize(("name", "torchgeo_name"), [("ucmerced", "UCMerced"),
                                                   ("resisc45", "RESISC45")])
def test_download_metadata_is_read_from_torchgeo(name, torchgeo_name, monkeypatch):
    import torchgeo.datasets as tgd

    theirs = getattr(tgd, torchgeo_name)
    ours = dataset_adapter(name)
    assert ours.md5 == theirs.md5 and ours.split_md5s == {"torchgeo": theirs.split_md5s}
    monkeypatch.setattr(theirs, "md5", "0" * 32)
    monkeypatch.setitem(theirs.split_md5s, "val", "1" * 32)
    assert ours.md5 == "0" * 32 and ours.split_md5s["torchgeo"]["val"] == "1" * 32


def test_ucmerced_files_are_where_torchgeo_downloads_them():
    import torchgeo.datasets as tgd

    ours = dataset_adapter("ucmerced")
    base = "https://hf.co/datasets/torchgeo/ucmerced/resolve/7c5ef3454d9b1cccfa7ccde0c01fc8f00a45909a/"
    assert tgd.UCMerced.url == base  # torchgeo 0.8.1; its download is url + file name
    assert ours.url == base + "UCMerced_LandUse.zip"
    assert ours.split_urls["torchgeo"]["test"] == base + "uc_merced-test.txt"
    assert ours.split_filenames["torchgeo"]["val"] == "uc_merced-val.txt"
    assert ours.image_dirs == ("UCMerced_LandUse/Images",)


def test_resisc45_split_files_are_named_as_torchgeo_saves_them():
    # torchgeo 0.8.1's RESISC45 saves and opens f"resisc45-{split}.txt"
    ours = dataset_adapter("resisc45")
    assert ours.split_filenames == {"torchgeo": {s: f"resisc45-{s}.txt"
                                                for s in ("train", "val", "test")}}
    assert ours.image_dirs == ("NWPU-RESISC45",)


def test_metadata_torchgeo_lacks_is_one_line_naming_it(monkeypatch):
    import torchgeo.datasets as tgd

    from rsbench.data.errors import TorchGeoMismatch
    from rsbench.data.torchgeo_meta import torchgeo_attribute

    monkeypatch.delattr(tgd.UCMerced, "split_md5s")
    with pytest.raises(TorchGeoMismatch, match=r"^torchgeo \S+ has no torchgeo\.datasets\."
                                               r"UCMerced\.split_md5s, .* install torchgeo 0\.8\.1"):
        _ = dataset_adapter("ucmerced").split_md5s
    with pytest.raises(TorchGeoMismatch, match="has no torchgeo.datasets.NoSuchSet,"):
        torchgeo_attribute("torchgeo.datasets:NoSuchSet", "classes")


def test_eurosat_metadata_agrees_with_torchgeo():
    import torchgeo.datasets as tgd

    ours = dataset_adapter("eurosat")
    theirs = tgd.EuroSAT
    assert theirs.split_md5s == ours.split_md5s["torchgeo"]
    assert theirs.md5 == ours.md5
    assert ours.url == theirs.url + theirs.filename
    assert Path(theirs.base_dir) == Path(ours.image_dirs[0])
    assert theirs.all_band_names == ours.all_band_names
    assert tgd.EuroSATSpatial.split_md5s == ours.split_md5s["spatial"]
    # every scene dataset is read here; bigearthnet (multi-label) in tests/multilabel, so2sat in
    # tests/data; segmentation and detection datasets in their own tests
    from rsbench.data.base import SceneAdapter
    from rsbench.data.catalog import names_of

    assert names_of(SceneAdapter) == sorted([*NUM_CLASSES, "so2sat"])
    assert sorted(DATASETS) == sorted([*NUM_CLASSES, "bigearthnet", "bigearthnet_v2", "so2sat",
                                       "loveda", "potsdam", "vaihingen", "isaid",
                                       "dior", "dota", "xview", "xview_tiles"])


def test_a_dataset_of_another_task_type_is_refused_with_the_names_that_fit():
    from rsbench.data.detection.build import det_adapter
    from rsbench.data.segmentation.build import seg_adapter
    from rsbench.registry import RegistryError

    with pytest.raises(SpecError) as spec_err:
        seg_adapter("ucmerced")
    assert str(spec_err.value) == ("dataset 'ucmerced' is not a segmentation dataset "
                                   "(segmentation datasets: isaid, loveda, potsdam, vaihingen)")
    with pytest.raises(RegistryError) as err:
        det_adapter("dotaa")
    assert str(err.value) == ("unknown detection dataset 'dotaa'; did you mean dota? "
                              "(known: dior, dota, xview, xview_tiles)")


def test_download_goes_through_torchgeo_and_fetches_missing_split_files(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    from rsbench.data.ucmerced import UCMercedAdapter

    fetched = []

    def fake_torchgeo(self, root, split, download, split_name=None):
        fetched.append((split, download))
        if download:  # stands in for torchgeo's download + extract
            generator("ucmerced").make(root, n_per_class=5, size=8, seed=0)
        return UCMercedAdapter.torchgeo_type(self)(root=str(root), split=split)

    monkeypatch.setattr(UCMercedAdapter, "torchgeo_dataset", fake_torchgeo)
    data = build("ucmerced", tmp_path, tmp_path, split={"kind": "official"}, download=True)
    assert fetched[0] == ("train", True) and len(data.test) == 21
    with pytest.raises(DatasetNotFound, match="not found at"):
        build("ucmerced", tmp_path / "none", tmp_path)  # download off: nothing fetched
    assert len(fetched) == 4

    (tmp_path / "ucmerced" / "uc_merced-test.txt").rename(tmp_path / "saved-test.txt")
    urls = []

    def fake_download_url(url, root, filename=None, md5=None):
        urls.append((url, md5))
        (Path(root) / filename).write_bytes((tmp_path / "saved-test.txt").read_bytes())

    monkeypatch.setattr(tv_utils, "download_url", fake_download_url)
    again = build("ucmerced", tmp_path, tmp_path, split={"kind": "official"}, download=True)
    assert again.split_hash == data.split_hash
    assert urls == [(UCMercedAdapter.split_urls["torchgeo"]["test"],
                     UCMercedAdapter.split_md5s["torchgeo"]["test"])]
    with pytest.raises(DatasetNotFound, match="cannot be downloaded automatically"):
        build("aid", tmp_path, tmp_path, download=True)


def test_failed_download_is_a_one_line_not_found(tmp_path, monkeypatch):
    from rsbench.data.ucmerced import UCMercedAdapter

    def offline(self, root, split, download, split_name=None):
        raise OSError("Name or service not known\n(more)")

    monkeypatch.setattr(UCMercedAdapter, "torchgeo_dataset", offline)
    with pytest.raises(DatasetNotFound, match="download failed .OSError: Name or service") as err:
        build("ucmerced", tmp_path, tmp_path, download=True)
    assert "\n" not in str(err.value)
