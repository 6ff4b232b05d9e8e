"""Split specs, stratified ratio splits, split files, and the synthetic UC Merced generator."""

import hashlib
import json

import numpy as np
import pytest
import torch

from rsbench.config import DatasetSpec
from rsbench.data import (
    SplitConflict,
    SplitSpecError,
    build_classification_data,
    make_synthetic_ucmerced,
    parse_split,
    ratio_counts,
    ratio_split,
)
from rsbench.data.split_files import read_split_file, write_split_file
from rsbench.data.synthetic import synthetic_image

R82 = {"kind": "ratio", "train": 0.8, "test": 0.2, "val_fraction": 0.1, "seed": 0}


def ratio(**kw):
    return parse_split({**R82, **kw})


# -- split spec -------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"train": 0.9, "test": 0.2}, "test"),
    ({"train": -0.1}, "train"),
    ({"train": 0.0}, "train"),
    ({"test": "0.2"}, "test"),
    ({"val_fraction": 1.0}, "val_fraction"),
    ({"val_fraction": 1.5}, "val_fraction"),
    ({"seed": 1.5}, "seed"),
    ({"seed": True}, "seed"),
    ({"kind": "random"}, "kind"),
    ({"folds": 5}, "folds"),
])
def test_bad_split_specs_name_the_field(change, field):
    with pytest.raises(SplitSpecError, match=field):
        parse_split({**R82, **change})


def test_split_spec_defaults_and_file_names():
    spec = parse_split({"kind": "ratio", "train": 0.5, "test": 0.5, "seed": 3})
    assert spec.val_fraction == 0.0
    assert ratio().file_stem("ucmerced") == "ucmerced_ratio_0.8_0.2_val0.1_seed0"
    official = parse_split({"kind": "official"}, ("torchgeo", "spatial"))
    assert official.name == "torchgeo"
    assert official.file_stem("eurosat") == "eurosat_official_torchgeo"
    spatial = parse_split({"kind": "official", "name": "spatial"}, ("torchgeo", "spatial"))
    assert spatial.name == "spatial"
    with pytest.raises(SplitSpecError, match="name"):
        parse_split({"kind": "official", "name": "mine"}, ("torchgeo",))
    with pytest.raises(SplitSpecError, match="no official split"):
        parse_split({"kind": "official"}, ())


# -- counts and stratification ----------------------------------------------------------------

@pytest.mark.parametrize(("n", "spec", "expected"), [
    (100, R82, (72, 8, 20)),          # 80 train+val, val = 8.0, test = 20
    (10, R82, (7, 1, 2)),             # val = round(0.8) = 1
    (7, {**R82, "train": 0.5, "test": 0.5}, (4, 0, 3)),  # 3.5 rounds up; val = round(0.4) = 0
    (13, {**R82, "train": 0.2, "test": 0.8}, (3, 0, 10)),  # 2.6 -> 3; 0.3 -> 0
    (20, {**R82, "train": 0.1, "test": 0.9, "val_fraction": 0.25}, (1, 1, 18)),  # 0.5 -> 1
    (10, {**R82, "train": 0.5, "test": 0.3}, (4, 1, 3)),  # train + test < 1: 2 images unused
    (6, {**R82, "val_fraction": 0.0}, (5, 0, 1)),  # 4.8 -> 5, test takes the rest
])
def test_ratio_counts_match_hand_computation(n, spec, expected):
    assert ratio_counts(n, parse_split(spec)) == expected


def fake_samples(sizes):
    return [(f"c{label}/img{i:03d}.jpg", label) for label, n in enumerate(sizes) for i in range(n)]


def test_ratio_split_is_stratified_disjoint_and_complete():
    sizes = [100, 10, 7, 13]
    samples = fake_samples(sizes)
    parts = ratio_split(samples, ratio())
    for label, n in enumerate(sizes):
        got = tuple(sum(1 for _, y in parts[s] if y == label) for s in ("train", "val", "test"))
        assert got == ratio_counts(n, ratio())
    paths = {s: {p for p, _ in parts[s]} for s in parts}
    assert not (paths["train"] & paths["val"]) and not (paths["train"] & paths["test"])
    assert not (paths["val"] & paths["test"])
    assert paths["train"] | paths["val"] | paths["test"] == {p for p, _ in samples}
    assert all(parts[s] == sorted(parts[s]) for s in parts)


def test_ratio_split_depends_only_on_seed_and_paths():
    samples = fake_samples([30, 30])
    a = ratio_split(samples, ratio())
    assert ratio_split(list(reversed(samples)), ratio()) == a  # input order does not matter
    b = ratio_split(samples, ratio(seed=1))
    assert b["test"] != a["test"]
    assert [len(b[s]) for s in b] == [len(a[s]) for s in a]


# -- split files ------------------------------------------------------------------------------

def test_split_file_is_reused_when_identical_and_conflicts_when_not(tmp_path):
    path, digest = write_split_file(tmp_path, "x_ratio", b'{"a": 1}\n')
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    mtime = path.stat().st_mtime_ns
    assert write_split_file(tmp_path, "x_ratio", b'{"a": 1}\n') == (path, digest)
    assert path.stat().st_mtime_ns == mtime
    with pytest.raises(SplitConflict, match="changed"):
        write_split_file(tmp_path, "x_ratio", b'{"a": 2}\n')
    assert path.read_bytes() == b'{"a": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["x_ratio.json"]  # no temp files left


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    data_root = tmp_path_factory.mktemp("synth")
    make_synthetic_ucmerced(data_root / "ucmerced", n_per_class=10, size=16, seed=0)
    return data_root


def spec(split=R82, size=16, **kw):
    return DatasetSpec(name="ucmerced", split=split, image_size=size, **kw)


def test_built_split_is_written_hashed_and_deterministic(synth, tmp_path):
    a = build_classification_data(spec(), synth, tmp_path / "a")
    b = build_classification_data(spec(), synth, tmp_path / "b")
    assert a.split_file.name == "ucmerced_ratio_0.8_0.2_val0.1_seed0.json"
    assert a.split_hash == b.split_hash == hashlib.sha256(a.split_file.read_bytes()).hexdigest()
    assert a.split_file.read_bytes() == b.split_file.read_bytes()
    assert a.fingerprint == b.fingerprint
    assert (len(a.train), len(a.val), len(a.test)) == (21 * 7, 21 * 1, 21 * 2)
    doc = json.loads(a.split_file.read_text())
    assert doc["counts"] == {"train": 147, "val": 21, "test": 42} and doc["split"]["seed"] == 0
    assert read_split_file(a.split_file)["test"] == a.test.samples
    c = build_classification_data(spec({**R82, "seed": 1}), synth, tmp_path / "a")
    assert c.split_hash != a.split_hash and c.fingerprint == a.fingerprint
    summary = a.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["n_train"] == 147 and summary["num_classes"] == 21
    assert summary["split"] == R82


def test_dataset_change_under_a_split_is_a_conflict(tmp_path):
    root = make_synthetic_ucmerced(tmp_path / "ucmerced", n_per_class=5, size=8, seed=0)
    before = build_classification_data(spec(), tmp_path, tmp_path / "splits")
    extra = root / "UCMerced_LandUse/Images/beach/beach99.tif"
    extra.write_bytes((root / "UCMerced_LandUse/Images/beach/beach00.tif").read_bytes())
    with pytest.raises(SplitConflict, match="changed since the split was written"):
        build_classification_data(spec(), tmp_path, tmp_path / "splits")
    after = build_classification_data(spec(), tmp_path, tmp_path / "other")
    assert after.fingerprint != before.fingerprint


def test_val_fraction_zero_gives_an_empty_val_split(synth, tmp_path):
    data = build_classification_data(spec({**R82, "val_fraction": 0.0}), synth, tmp_path)
    assert len(data.val) == 0 and len(data.train) == 21 * 8


def test_train_transform_applies_to_train_only(synth, tmp_path):
    calls = []

    def mark(img):
        calls.append(img.shape)
        return torch.full_like(img, 0.5)

    data = build_classification_data(spec(size=12), synth, tmp_path, train_transform=mark)
    assert torch.equal(data.train[0][0], torch.full((3, 12, 12), 0.5))
    assert calls == [(3, 12, 12)]  # after the resize
    for part in (data.val, data.test):
        img, label = part[0]
        assert not torch.equal(img, torch.full_like(img, 0.5)) and isinstance(label, int)
    assert len(calls) == 1
    a, b = data.test[3][0], data.test[3][0]
    assert torch.equal(a, b)  # reads are deterministic


# -- synthetic generator ----------------------------------------------------------------------

def test_synthetic_ucmerced_is_byte_identical_for_a_seed(tmp_path):
    def tree(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file()}

    a = tree(make_synthetic_ucmerced(tmp_path / "a", 3, 16, seed=7))
    b = tree(make_synthetic_ucmerced(tmp_path / "b", 3, 16, seed=7))
    c = tree(make_synthetic_ucmerced(tmp_path / "c", 3, 16, seed=8))
    assert a == b
    assert a.keys() == c.keys() and a != c
    assert len([k for k in a if k.endswith(".tif")]) == 63
    assert "UCMerced_LandUse/Images/airplane/airplane02.tif" in a


def structure_features(img: np.ndarray) -> np.ndarray:
    """Mean/std colour plus a normalised power spectrum binned by radius and angle."""
    x = img.astype(np.float32) / 255
    g = x.mean(2)
    power = np.abs(np.fft.fftshift(np.fft.fft2(g - g.mean()))) ** 2
    s = g.shape[0]
    yy, xx = np.mgrid[-s // 2:s // 2, -s // 2:s // 2]
    rbin = np.digitize(np.hypot(yy, xx), [1.5, 4.5, 9, 16, s])
    abin = (np.mod(np.arctan2(yy, xx), np.pi) / (np.pi / 8)).astype(int) % 8
    hist = np.zeros((6, 8))
    np.add.at(hist, (rbin, abin), power)
    hist = hist[1:5].ravel()
    return np.concatenate([x.mean((0, 1)), x.std((0, 1)), hist / hist.sum()])


def nearest_class_mean_accuracy(feats: np.ndarray) -> float:
    """``feats`` is [classes, images, dim]; fit means on the first half, score the second."""
    half = feats.shape[1] // 2
    train, test = feats[:, :half], feats[:, half:]
    mu = train.mean(1)
    sd = train.reshape(-1, feats.shape[-1]).std(0) + 1e-8
    dist = (((test[:, :, None] - mu[None, None]) / sd) ** 2).sum(-1)
    return float((dist.argmin(-1) == np.arange(len(feats))[:, None]).mean())


def test_synthetic_classes_are_learnable_by_structure_not_colour():
    imgs = np.array([[synthetic_image(k, 48, np.random.default_rng((0, k, i))) for i in range(16)]
                     for k in range(21)])
    feats = np.array([[structure_features(im) for im in row] for row in imgs])
    assert nearest_class_mean_accuracy(feats) > 0.8  # chance is 1/21
    assert nearest_class_mean_accuracy(feats[..., :3]) < 0.3  # mean colour alone is not enough
    assert len({im.tobytes() for im in imgs.reshape(-1, 48, 48, 3)}) == 21 * 16


def test_fingerprint_sees_a_same_size_rewrite(tmp_path):
    import os

    from rsbench.data.split_files import dataset_fingerprint

    (tmp_path / "a.tif").write_bytes(b"\x00" * 64)
    (tmp_path / "b.tif").write_bytes(b"\x01" * 64)
    before = dataset_fingerprint(tmp_path, ["a.tif", "b.tif"])
    assert dataset_fingerprint(tmp_path, ["b.tif", "a.tif"]) == before  # order-free
    (tmp_path / "a.tif").write_bytes(b"\x00" * 63 + b"\x02")  # same size, one pixel changed
    st = (tmp_path / "a.tif").stat()
    os.utime(tmp_path / "a.tif", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert dataset_fingerprint(tmp_path, ["a.tif", "b.tif"]) != before
