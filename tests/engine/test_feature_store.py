"""One backbone pass per distinct image: the per-image feature store behind the probes."""

import torch
from tiny_models import tiny_vit

from rsbench.data import make_synthetic_ucmerced
from rsbench.data.dataset import SceneDataset
from rsbench.data.decode import RGBReader
from rsbench.engine.feature_store import FeatureStore, image_id, store_report
from rsbench.engine.features import FeatureCache, extracted_features
from rsbench.engine.trainer import EngineOptions
from rsbench.protocols import ProtocolContext
from rsbench.protocols.frozen_features import cached_splits
from rsbench.tasks import plugin as task_plugin


class CountingBackbone(torch.nn.Module):
    """The tiny ViT, counting the images it is run on."""

    def __init__(self):
        super().__init__()
        self.inner, self.images = tiny_vit(32), 0
        self.embed_dim = self.inner.embed_dim

    def pooled(self, x):
        self.images += len(x)
        return self.inner.pooled(x)


class Data:
    def __init__(self, root, train, val, test):
        reader = RGBReader()
        self.train, self.val, self.test = (SceneDataset(root, s, reader, 32) for s in (train, val, test))
        self.split_hash = self.fingerprint = "unused"


def context(tmp_path, data, backbone):
    task = type("T", (), {"dataset": type("D", (), {"image_size": 32})()})()
    return ProtocolContext(task=task, seed=0, opts=EngineOptions(accelerator="cpu", progress=False),
                           make_backbone=lambda **_: backbone, make_data=lambda **_: data,
                           cache=FeatureCache(tmp_path / "cache"), identity={"model": "tiny"},
                           plugin=task_plugin("classification"))


def test_two_splits_of_the_same_images_run_the_backbone_once_per_image(tmp_path):
    root = make_synthetic_ucmerced(tmp_path / "ucm", n_per_class=2, size=32, seed=0)
    samples = sorted((p.relative_to(root).as_posix(), i % 21)
                     for i, p in enumerate(sorted(root.rglob("*.tif"))))
    backbone = CountingBackbone()
    first = Data(root, samples[:30], samples[30:34], samples[34:])   # 42 distinct images
    second = Data(root, samples[10:], [], samples[:10])              # the same 42, cut otherwise
    a, _, ta = cached_splits(context(tmp_path, first, backbone))
    assert backbone.images == 42 and ta["features_extracted"] == 42
    b, _, tb = cached_splits(context(tmp_path, second, backbone))
    assert backbone.images == 42 and tb["features_cached"] == 1.0  # no new forward pass
    # The gathered rows equal a direct extraction of each split, and labels follow the split.
    direct = extracted_features(tiny_vit(32), second.train, EngineOptions(accelerator="cpu", progress=False))
    torch.testing.assert_close(b["train"][0], direct[0], rtol=0, atol=1e-6)
    assert torch.equal(b["train"][1], direct[1])
    assert torch.equal(a["train"][0][:10], b["test"][0])  # the same images, the same rows
    (row,) = store_report(tmp_path / "cache")
    assert (row["images"], row["chunks"]) == (42, 1)


def test_a_rewritten_image_is_a_miss_and_a_torn_chunk_is_ignored(tmp_path):
    root = make_synthetic_ucmerced(tmp_path / "ucm", n_per_class=1, size=32, seed=0)
    files = sorted(root.rglob("*.tif"))
    store = FeatureStore(tmp_path / "cache", {"model": "m"})
    ids = [image_id(p) for p in files[:3]]
    store.add(ids, torch.arange(6.0).view(3, 2))
    (store.dir / "chunk-torn.pt").write_bytes(b"not a torch file")
    fresh = FeatureStore(tmp_path / "cache", {"model": "m"})
    assert fresh.missing(ids) == [] and torch.equal(fresh.gather(ids[::-1]), torch.tensor([[4.0, 5], [2, 3], [0, 1]]))
    files[0].write_bytes(files[0].read_bytes() + b"x")  # another version of the image
    assert FeatureStore(tmp_path / "cache", {"model": "m"}).missing([image_id(files[0])]) == [image_id(files[0])]
    assert FeatureStore(tmp_path / "cache", {"model": "other"}).missing(ids) == ids


def test_cache_ls_and_prune(tmp_path, capsys):
    import json
    import os

    from rsbench.cli import main

    old = FeatureStore(tmp_path, {"model": "old"})
    old.add(["a", "b"], torch.zeros(2, 4))
    FeatureStore(tmp_path, {"model": "new"}).add(["c"], torch.zeros(1, 4))
    for p in old.dir.iterdir():
        os.utime(p, (0, 0))  # unused since 1970
    assert main(["cache", "ls", "--cache-dir", str(tmp_path), "--json"]) == 0
    assert sorted(r["images"] for r in json.loads(capsys.readouterr().out)) == [1, 2]
    assert main(["cache", "prune", "--cache-dir", str(tmp_path), "--older-than", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == [str(old.dir)]
    assert main(["cache", "prune", "--cache-dir", str(tmp_path)]) == 0
    assert not list((tmp_path / "features").iterdir())


def test_a_relative_dataset_root_reads_the_right_files(tmp_path, monkeypatch):
    root = make_synthetic_ucmerced(tmp_path / "ucm", n_per_class=1, size=32, seed=0)
    monkeypatch.chdir(tmp_path)
    rel_root = root.relative_to(tmp_path)  # as `--data-root data` gives it
    samples = sorted((p.relative_to(root).as_posix(), i) for i, p in enumerate(sorted(root.rglob("*.tif"))))
    data = Data(rel_root, samples[:15], [], samples[15:])
    splits, _, timings = cached_splits(context(tmp_path, data, CountingBackbone()))
    assert timings["features_extracted"] == 21 and len(splits["test"][1]) == 6
