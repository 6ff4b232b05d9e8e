"""EuroSAT all-bands reads what torchgeo's EuroSAT (bands=all) reads, as reflectance."""

import pytest
import torch
from bands_helpers import S2

from rsbench.config import DatasetSpec, SpecError
from rsbench.data import build_classification_data, dataset_adapter


def build(root, tmp_path, **kw):
    spec = DatasetSpec(name="eurosat", split={"kind": "official"}, image_size=8,
                       **{"bands": S2, "variant": "all-bands", **kw})
    return build_classification_data(spec, root.parent, tmp_path / "splits")


def test_every_split_and_image_equals_torchgeos_all_band_sample(eurosat_root, tmp_path):
    from torchgeo.datasets import EuroSAT

    data = build(eurosat_root, tmp_path)
    for split in ("train", "val", "test"):
        theirs = EuroSAT(root=str(eurosat_root), split=split)  # bands: all (the default)
        ours = getattr(data, split)
        assert len(ours) == len(theirs) > 0
        by_name = {p.rsplit("/", 1)[-1]: i for i, (p, _) in enumerate(ours.samples)}
        for j, (path, label) in enumerate(theirs.samples):
            sample = theirs[j]
            image, our_label = ours[by_name[path.rsplit("/", 1)[-1]]]
            assert image.shape == sample["image"].shape == (13, 8, 8)
            # torchgeo's raw DN / 10,000 (the fake's DN < 6000: nothing to clip)
            assert torch.equal(image, sample["image"] / 10000.0)
            assert data.classes[our_label] == theirs.classes[label]


def test_bands_are_read_in_the_order_asked(eurosat_root, tmp_path):
    from torchgeo.datasets import EuroSAT

    ours = build(eurosat_root, tmp_path, bands=("B8A", "B04"))
    theirs = EuroSAT(root=str(eurosat_root), split="test", bands=("B8A", "B04"))
    name = theirs.samples[0][0].rsplit("/", 1)[-1]
    index = [p.rsplit("/", 1)[-1] for p, _ in ours.test.samples].index(name)
    assert torch.equal(ours.test[index][0], theirs[0]["image"] / 10000.0)


def test_variants_and_band_names():
    adapter = dataset_adapter("eurosat")
    assert adapter.with_variant("all-bands").sensor == "s2_l1c"
    assert adapter.with_variant(None).band_channels == {"R": 3, "G": 2, "B": 1}
    with pytest.raises(SpecError, match="dataset.variant 'ms': EuroSAT has rgb, all-bands"):
        adapter.with_variant("ms")
    with pytest.raises(SpecError, match=r"dataset.bands \['R'\] not available; allowed: B01"):
        adapter.with_variant("all-bands").reader(("R",))
