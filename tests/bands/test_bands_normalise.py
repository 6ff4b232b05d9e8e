"""Every input is normalised exactly once (model, dataset) or never (none), with the right values.

The whole path is exercised: fake EuroSAT GeoTIFFs -> rsbench's dataset -> the run's input plan
-> a tiny ViT. ``rsbench.bands.normalise.standardised`` (the one function that applies
statistics) is wrapped to count the samples it sees, and the encoder's input is captured at the
patch embedding and compared with a hand computation from the raw files.
"""

import numpy as np
import pytest
import rasterio
import torch
from bands_helpers import S2, S2_MEAN, S2_STD, s2_spec, tiny

from rsbench.backbones import InputSpec
from rsbench.bands import normalise
from rsbench.bands.plan import input_plan, run_plan
from rsbench.config import DatasetSpec
from rsbench.data import build_classification_data


def eurosat13(root, tmp_path, size=8, **kw):
    spec = DatasetSpec(name="eurosat", split={"kind": "official"}, image_size=size, bands=S2,
                       variant="all-bands", **kw)
    return spec, build_classification_data(spec, root.parent, tmp_path / "splits")


def raw(root, rel):
    """The file's 13 bands as reflectance, read by hand (no clip needed: DN < 6000)."""
    with rasterio.open(root / rel) as src:
        return src.read().astype(np.float64) / 10000.0


def encoder_input(backbone, x):
    """What the patch embedding receives for ``x``."""
    seen = []
    hook = backbone.model.patch_embed.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    with torch.no_grad():
        backbone.pooled(x)
    hook.remove()
    return seen[0].double()


@pytest.fixture
def counted(monkeypatch):
    """Samples seen by ``standardised`` (one count per image of each batch it normalises)."""
    seen = []
    real = normalise.standardised

    def counting(x, mean, std):
        seen.append(x.shape[0])
        return real(x, mean, std)

    monkeypatch.setattr(normalise, "standardised", counting)
    return seen


@pytest.mark.parametrize(("mode", "times"), [("model", 1), ("dataset", 1), ("dataset_2sigma", 1),
                                             ("none", 0)])
def test_each_sample_is_normalised_once_or_never(mode, times, eurosat_root, tmp_path, counted):
    spec, data = eurosat13(eurosat_root, tmp_path, normalisation=mode)
    card = s2_spec()
    task = type("T", (), {"dataset": spec})()
    plan = run_plan(type("C", (), {"input_spec": card, "name": "s2"})(), task, lambda: data,
                    tmp_path / "cache")
    images = torch.stack([data.test[i][0] for i in range(len(data.test))])
    assert counted == []  # reading and resizing never normalise
    backbone = plan.fitted(tiny(card))
    got = encoder_input(backbone, images)
    assert sum(counted) == times * len(images)
    files = np.stack([raw(data.root, rel) for rel, _ in data.test.samples])
    if mode == "model":
        want = (files - np.array(S2_MEAN)[:, None, None]) / np.array(S2_STD)[:, None, None]
    elif mode == "dataset":
        train = np.stack([raw(data.root, rel) for rel, _ in data.train.samples])
        mean, std = train.mean(axis=(0, 2, 3)), train.std(axis=(0, 2, 3))  # population std
        assert plan.statistics["mean"] == pytest.approx(mean.tolist(), abs=1e-8)  # float32 reads
        assert plan.statistics["std"] == pytest.approx(std.tolist(), abs=1e-8)
        want = (files - mean[:, None, None]) / std[:, None, None]
    elif mode == "dataset_2sigma":  # SeCo/SatMAE/CROMA: mean +- 2 std -> [0, 1], clipped
        train = np.stack([raw(data.root, rel) for rel, _ in data.train.samples])
        mean, std = train.mean(axis=(0, 2, 3)), train.std(axis=(0, 2, 3))
        low, high = mean - 2 * std, mean + 2 * std
        want = np.clip((files - low[:, None, None]) / (high - low)[:, None, None], 0.0, 1.0)
    else:
        want = files
    assert torch.allclose(got, torch.from_numpy(want), atol=1e-5)


def test_dataset_statistics_are_computed_once_and_cached(eurosat_root, tmp_path, monkeypatch):
    _, data = eurosat13(eurosat_root, tmp_path)
    first = normalise.dataset_statistics(data.train, data.split_hash, tmp_path / "cache")
    monkeypatch.setattr(normalise, "channel_statistics", lambda *a: pytest.fail("recomputed"))
    assert normalise.dataset_statistics(data.train, data.split_hash, tmp_path / "cache") == first
    assert first["images"] == len(data.train) == 10  # the fake: 1 of 3 per class


def test_rgb_model_on_eurosat13_sees_b04_b03_b02_with_its_value_scale(eurosat_root, tmp_path):
    # A card pretrained on DN (value_scale 10000) with mean/std in DN.
    card = InputSpec(mean=(1000.0, 900.0, 800.0), std=(300.0, 250.0, 200.0), img_size=8,
                     value_scale=10000.0)
    spec, data = eurosat13(eurosat_root, tmp_path)
    plan = input_plan(card, "rgb", spec)
    x = data.test[0][0][None]
    got = encoder_input(plan.fitted(tiny(card)), x)[0]
    dn = raw(data.root, data.test.samples[0][0])[[3, 2, 1]] * 10000.0
    want = (dn - np.array([1000.0, 900.0, 800.0])[:, None, None]) / np.array(
        [300.0, 250.0, 200.0])[:, None, None]
    assert torch.allclose(got, torch.from_numpy(want), atol=1e-3)


@pytest.mark.parametrize("fill", ["zero", "mean"])
def test_filled_bands_hold_zero_or_the_card_mean_before_the_one_normalisation(fill, counted):
    # A 4-band S2 card (B02, B03, B04, B08) on RGB data: B08 is filled.
    card = InputSpec(bands=("B02", "B03", "B04", "B08"), mean=(0.1, 0.2, 0.3, 0.4),
                     std=(0.5, 0.5, 0.5, 0.25), img_size=8, sensor="s2_l1c")
    spec = DatasetSpec(name="ucmerced", split={"kind": "official"}, image_size=8, band_fill=fill)
    plan = input_plan(card, "s2x4", spec)
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64).float()
    got = encoder_input(plan.fitted(tiny(card)), x)
    assert sum(counted) == 2
    b08 = {"zero": (0.0 - 0.4) / 0.25, "mean": 0.0}[fill]
    assert torch.allclose(got[:, 3], torch.full((2, 8, 8), b08, dtype=torch.float64))
    want_b02 = (x[:, 2].double() - 0.1) / 0.5  # data channel 2 is B (blue) = S2 B02
    assert torch.allclose(got[:, 0], want_b02, atol=1e-6)
    assert plan.to_dict()["mapping"][3] == {"model": "s2_l1c:B08", "data": None, "index": None,
                                            "rule": "missing"}


def test_dataset_2sigma_maps_mean_plus_minus_two_std_to_0_1_and_clips(counted):
    # One band, training statistics mean 0.5, std 0.1: 0.3 -> 0, 0.7 -> 1 (by hand), and values
    # beyond clip there, as SeCo's, SatMAE's and CROMA's Sentinel rescale does.
    from rsbench.bands.plan import InputPlan

    plan = input_plan(InputSpec(bands=("R",), mean=(0.0,), std=(1.0,), img_size=1),
                      "one", DatasetSpec(name="ucmerced", split={"kind": "official"}, image_size=1,
                                         bands=("R",), normalisation="dataset_2sigma"))
    plan = plan.with_statistics({"mean": [0.5], "std": [0.1]})
    assert isinstance(plan, InputPlan)
    low, span = plan.statistics_used()
    assert low == pytest.approx([0.3]) and span == pytest.approx([0.4])
    x = torch.tensor([0.1, 0.3, 0.5, 0.6, 0.7, 0.9]).view(6, 1, 1, 1)
    got = plan.input_map("one")(x).flatten()
    assert torch.allclose(got, torch.tensor([0.0, 0.0, 0.5, 0.75, 1.0, 1.0]), atol=1e-6)
    assert sum(counted) == 6  # normalised once, through standardised
