"""BigEarthNet v1 Sentinel-1 and S1+S2 (``dataset.variant: s1 | all``) against torchgeo 0.8.1's
own ``BigEarthNet(bands="s1" | "all")`` reading the same fake files."""

from pathlib import Path

import pytest
import torch
from fake_bigearthnet import PATCHES, S1_LABELS

from rsbench.bands.plan import data_sensor
from rsbench.config import DatasetSpec, SpecError
from rsbench.data.bigearthnet import S2_BANDS
from rsbench.data.errors import DatasetNotFound
from rsbench.tasks import multilabel

S1S2 = ("s1:VV", "s1:VH", *S2_BANDS)


class Task:
    def __init__(self, **dataset):
        base = {"name": "bigearthnet", "split": {"kind": "official"}, "image_size": 120}
        self.dataset = DatasetSpec(**{**base, **dataset})


def built(root: Path, tmp_path: Path, **dataset):
    return multilabel.build_data(Task(**dataset), root, tmp_path / "cache", download=False)


def stored_db(folder: Path, band: str) -> torch.Tensor:
    """The float32 dB a band file stores, read by rasterio directly."""
    import rasterio

    with rasterio.open(folder / f"{folder.name}_{band}.tif") as src:
        return torch.from_numpy(src.read(1))


def unit(db: torch.Tensor) -> torch.Tensor:
    """By hand: -50 dB -> 0, +10 dB -> 1, clipped."""
    return ((db + 50.0) / 60.0).clamp(0.0, 1.0)


def rounds_to(ours: torch.Tensor, int_db: torch.Tensor) -> bool:
    """Whether torchgeo's int32 dB are our dB rounded half away from zero (rasterio's cast),
    apart from values within float32 error of a half."""
    db = ours.double() * 60.0 - 50.0
    rounded = torch.sign(db) * torch.floor(db.abs() + 0.5)
    near_half = ((db.abs() % 1.0) - 0.5).abs() < 1e-4
    return bool(((rounded == int_db) | near_half).all()) and float(near_half.float().mean()) < 1e-3


@pytest.mark.parametrize("split", ["train", "test"])
def test_s1_images_and_labels_equal_torchgeos(bigearthnet_root, tmp_path, split):
    from torchgeo.datasets import BigEarthNet

    ours = getattr(built(bigearthnet_root, tmp_path, variant="s1", bands=("VV", "VH")), split)
    theirs = BigEarthNet(str(bigearthnet_root / "bigearthnet"), split=split, bands="s1")
    assert len(ours) == len(theirs) == sum(s == split for s, _ in PATCHES)
    for i in range(len(theirs)):
        image, target = ours[i]
        item = theirs[i]
        folder = ours.root / Path(ours.samples[i][0]).parent
        assert torch.equal(image, torch.stack([unit(stored_db(folder, b)) for b in ("VV", "VH")]))
        # torchgeo globs the folder sorted: _VH.tif before _VV.tif.
        assert image.shape == item["image"].shape == (2, 120, 120)
        assert rounds_to(image, item["image"][[1, 0]])
        assert torch.equal(target, item["label"])


def test_s1_s2_images_and_labels_equal_torchgeos_all(bigearthnet_root, tmp_path):
    from torchgeo.datasets import BigEarthNet

    ours = built(bigearthnet_root, tmp_path, variant="all", bands=S1S2).test
    theirs = BigEarthNet(str(bigearthnet_root / "bigearthnet"), split="test", bands="all")
    assert len(ours) == len(theirs) == 5
    for i in range(len(theirs)):
        image, target = ours[i]
        item = theirs[i]
        assert image.shape == item["image"].shape == (14, 120, 120)
        assert rounds_to(image[:2], item["image"][[1, 0]])
        assert torch.equal(image[2:], item["image"][2:] / 10000.0)
        assert torch.equal(target, item["label"])


def test_s1_labels_come_from_the_s1_label_files(bigearthnet_root, tmp_path):
    s1 = built(bigearthnet_root, tmp_path, variant="s1", bands=("VV",)).test
    s2 = built(bigearthnet_root, tmp_path, bands=("B02",)).test
    # Patch 13 (test item 4): S2 names only Airports (no label); its S1 file adds Water bodies.
    assert S1_LABELS[13] == ["Airports", "Water bodies"]
    assert s2.samples[4][1] == () and s1.samples[4][1] == (17,)  # 17 = Inland waters
    assert s1.samples[4][0].startswith("BigEarthNet-S1-v1.0/S1A_IW_GRDH_1SDV_")
    assert [lab for _, lab in s1.samples[:4]] == [lab for _, lab in s2.samples[:4]]


def test_band_plan_sees_s1_and_s1_s2_sensors():
    assert data_sensor(Task(variant="s1", bands=("VV", "VH")).dataset) == ("s1", 60.0, -50.0)  # -50 dB -> 0, +10 dB -> 1
    assert data_sensor(Task(variant="all", bands=S1S2).dataset) == ("s2_l2a", 10000.0, 0.0)


def test_s1_bands_variants_and_missing_folder_are_one_line(bigearthnet_root, tmp_path):
    with pytest.raises(SpecError, match="allowed: VV, VH"):
        built(bigearthnet_root, tmp_path, variant="s1", bands=("B02",))
    with pytest.raises(SpecError, match="BigEarthNet has s2, s1, all"):
        built(bigearthnet_root, tmp_path, variant="s3", bands=("VV",))
    (tmp_path / "bigearthnet").mkdir()
    for name in ("train", "val", "test"):
        (tmp_path / "bigearthnet" / f"bigearthnet-{name}.csv").write_text("a,b\n")
    with pytest.raises(DatasetNotFound) as err:
        built(tmp_path, tmp_path, variant="s1", bands=("VV",))
    message = str(err.value)
    assert "\n" not in message and f"at {tmp_path / 'bigearthnet'}" in message
    assert "BigEarthNet-S1-v1.0/<patch>/<patch>_VV.tif" in message
    assert "bands='s1'" in message
