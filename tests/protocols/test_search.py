"""protocol.search: optuna on the validation split, journal storage, pruning, off by default."""

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from rsbench.config import SpecError, spec_hash
from rsbench.engine import EngineOptions
from rsbench.engine.features import FeatureCache
from rsbench.protocols import linear_probe
from rsbench.protocols.base import ProtocolContext
from rsbench.protocols.search import journal_path, search_spec
from rsbench.tasks import plugin as task_plugin

REPO = Path(__file__).resolve().parents[2]
SEARCH = {"trials": 4, "params": {"blr": {"low": 0.01, "high": 3.0, "log": True},
                                  "weight_decay": {"low": 0.0, "high": 0.01}},
          "pruner": "none", "sampler_seed": 0}


def clusters(n_per_class: int, seed: int, dim: int = 16, classes: int = 4):
    centres = torch.randn(classes, dim, generator=torch.Generator().manual_seed(123)) * 3
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    return 50.0 + 10.0 * (centres[y] + torch.randn(len(y), dim, generator=g)), y


class FakeData:
    classes = ["a", "b", "c", "d"]
    split_hash, fingerprint = "split", "fingerprint"

    def summary(self) -> dict:
        return {}


def probe_ctx(cache_dir: Path, search, model: str = "m", seed: int = 0) -> ProtocolContext:
    """A probe run whose features already sit in the cache (no backbone, no images)."""
    protocol = {"name": "linear_probe", "epochs": 4, "warmup_epochs": 1, "batch_size": 32,
                "blr_grid": [0.1, 1.0], "search": search}
    task = SimpleNamespace(task="t", path="t.yaml", protocol=protocol, primary_metric="overall_accuracy",
                           hash=spec_hash(protocol), dataset=SimpleNamespace(image_size=32))
    identity = {"model": model}
    cache = FeatureCache(cache_dir)
    key = cache.key({**identity, "split_hash": "split", "fingerprint": "fingerprint", "image_size": 32})
    splits = {"train": clusters(20, 0), "val": clusters(5, 1), "test": clusters(5, 2)}
    cache.save(key, splits, meta={})

    def no_backbone(**_):
        raise AssertionError("features are cached")

    return ProtocolContext(task=task, seed=seed, opts=EngineOptions(accelerator="cpu", progress=False),
                           make_backbone=no_backbone, make_data=lambda train_transform=None: FakeData(),
                           cache=cache, identity=identity, plugin=task_plugin("classification"))


def test_search_is_off_by_default_and_the_grid_runs_as_before(tmp_path):
    assert linear_probe.DEFAULTS["search"] is None
    result = linear_probe.run(probe_ctx(tmp_path, None))
    assert result.hparams["search"] is None and set(result.hparams["val_sweep"]) == {"0.1", "1.0"}
    assert not (tmp_path / "search").exists()


def test_same_seed_same_choice_and_a_finished_study_is_reused(tmp_path):
    first = linear_probe.run(probe_ctx(tmp_path / "a", SEARCH)).hparams
    other = linear_probe.run(probe_ctx(tmp_path / "b", SEARCH)).hparams
    s = first["search"]
    assert s["best_params"] == other["search"]["best_params"]
    assert first["blr"] == s["best_params"]["blr"] and first["weight_decay"] == s["best_params"]["weight_decay"]
    assert s["n_trials"] == s["n_new_trials"] == 4 and s["best_value"] > 0.9
    assert Path(s["storage_path"]).is_file() and Path(s["storage_path"]).parent == tmp_path / "a" / "search"
    assert first["val_sweep"] == {}  # the grid is replaced, not run as well
    again = linear_probe.run(probe_ctx(tmp_path / "a", SEARCH)).hparams["search"]
    assert again["n_new_trials"] == 0 and again["n_trials"] == 4
    assert again["best_params"] == s["best_params"] and again["storage_path"] == s["storage_path"]


def test_different_identities_get_different_studies(tmp_path):
    a, b, c = (probe_ctx(tmp_path, SEARCH, model=m, seed=seed) for m, seed in (("m", 0), ("n", 0), ("m", 1)))
    assert len({journal_path(a), journal_path(b), journal_path(c)}) == 3
    more = probe_ctx(tmp_path, {**SEARCH, "trials": 5})  # search settings are part of the spec hash
    assert journal_path(more) != journal_path(a)
    ra = linear_probe.run(a).hparams["search"]
    rb = linear_probe.run(b).hparams["search"]
    assert ra["study"] != rb["study"] and ra["n_new_trials"] == rb["n_new_trials"] == 4
    assert len(list((tmp_path / "search").glob("*.journal"))) == 2


def test_median_pruner_stops_trials_in_a_hopeless_learning_rate_range(tmp_path):
    # blr 1e-7 .. 1e-5 leaves the head at its random start: well below the median at epoch 1.
    search = {"trials": 10, "params": {"blr": {"low": 1e-7, "high": 3.0, "log": True}},
              "pruner": {"name": "median", "n_startup_trials": 3}, "sampler_seed": 0,
              "storage": "memory"}
    result = linear_probe.run(probe_ctx(tmp_path, search))
    s = result.hparams["search"]
    assert s["n_pruned"] >= 1 and s["n_complete"] + s["n_pruned"] == 10
    assert s["storage_path"] is None and s["best_params"]["blr"] > 1e-3
    assert result.metrics["overall_accuracy"] > 0.9


def test_the_probe_search_is_handed_train_and_val_only(tmp_path):
    import inspect

    assert list(inspect.signature(linear_probe.searched_probe).parameters) == [
        "ctx", "hp", "train", "val", "num_classes"]
    ctx = probe_ctx(tmp_path, SEARCH)
    hp = {**linear_probe.DEFAULTS, **{k: v for k, v in ctx.task.protocol.items() if k != "name"}}
    best, summary = linear_probe.searched_probe(ctx, hp, clusters(20, 0), clusters(5, 1), 4)
    assert set(best) == {"blr", "weight_decay"} and summary["n_trials"] == 4


@pytest.mark.parametrize("bad, match", [
    ({"trials": 2}, "params must name"),
    ({"params": {"momentum": {"low": 0.1, "high": 0.9}}}, "cannot be searched"),
    ({"params": {"blr": {"low": 0.0, "high": 1.0, "log": True}}}, "0 < low"),
    ({"params": {"blr": {"low": 0.1, "high": 1.0}}, "storage": "sqlite"}, "storage"),
    ({"params": {"blr": {"low": 0.1, "high": 1.0}}, "pruner": "hyperband"}, "pruner"),
    ({"params": {"blr": {"low": 0.1, "high": 1.0}}, "trails": 3}, "unknown"),
])
def test_bad_search_settings_name_the_field(bad, match):
    with pytest.raises(SpecError, match=match):
        search_spec(bad, ("blr", "weight_decay"), "t.yaml")


class NoTest:
    """A data bundle whose test split must not be read (during the search)."""

    def __init__(self, data) -> None:
        self._data = data

    def __getattr__(self, name):
        if name == "test":
            raise AssertionError("the search read the test split")
        return getattr(self._data, name)


@pytest.fixture(scope="module")
def ucmerced_task(tmp_path_factory):
    from rsbench.config import load_task
    from rsbench.data import make_synthetic_ucmerced

    tmp = tmp_path_factory.mktemp("search_ft")
    data_root = make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=6, size=32, seed=0).parent
    path = tmp / "ft.yaml"
    path.write_text(
        f"include: [{REPO}/tasks/demo/_demo_dataset.yaml, {REPO}/tasks/classification/_protocols/finetune.yaml]\n"
        "task: search_ft\nversion: 1\ndataset: {image_size: 32}\n"
        "protocol: {epochs: 1, batch_size: 16, warmup_epochs: 0, mixup: 0.0, cutmix: 0.0,\n"
        "  search: {trials: 2, params: {blr: {low: 1.0e-4, high: 1.0e-2, log: true}}, sampler_seed: 0}}\n")
    return load_task(path), data_root, tmp


def finetune_ctx(task, data_root, cache_dir, guard_test: bool) -> ProtocolContext:
    from rsbench.backbones import InputSpec, build_backbone

    plugin = task_plugin("classification")

    def make_data(train_transform=None):
        data = plugin.build_data(task, data_root, cache_dir, False, train_transform)
        return NoTest(data) if guard_test else data

    def make_backbone(**extra):
        return build_backbone("vit_tiny_patch16", InputSpec(img_size=32), depth=1, patch_size=8, **extra)

    return ProtocolContext(task=task, seed=0, opts=EngineOptions(accelerator="cpu", progress=False),
                           make_backbone=make_backbone, make_data=make_data, cache=FeatureCache(cache_dir),
                           identity={"model": "tiny", "precision": "32-true"}, plugin=plugin)


def test_finetune_search_sees_no_test_split_and_the_best_trial_is_trained(ucmerced_task):
    from rsbench.protocols import finetune
    from rsbench.protocols.search import searched_finetune

    task, data_root, tmp = ucmerced_task
    ctx = finetune_ctx(task, data_root, tmp / "cache", guard_test=True)
    hp = {**finetune.DEFAULTS, **{k: v for k, v in task.protocol.items() if k != "name"}}
    best_hp, summary = searched_finetune(ctx, hp)  # would raise on any read of data.test
    assert summary["n_trials"] == 2 and best_hp["blr"] == summary["best_params"]["blr"]
    assert 1e-4 <= best_hp["blr"] <= 1e-2 and best_hp["search"] is summary

    # The full protocol reuses the finished study (same identity) and records it.
    result = finetune.FINETUNE.run(finetune_ctx(task, data_root, tmp / "cache", guard_test=False))
    s = result.hparams["search"]
    assert s["n_new_trials"] == 0 and s["best_params"] == summary["best_params"]
    assert result.hparams["blr"] == s["best_params"]["blr"]
    assert result.hparams["lr"] == pytest.approx(s["best_params"]["blr"] * 16 / 256)
    assert 0.0 <= result.metrics["overall_accuracy"] <= 1.0


def test_a_diverging_trial_is_recorded_as_pruned_and_never_chosen(tmp_path):
    from rsbench.protocols.search import searched

    spec = search_spec({"trials": 6, "params": {"blr": {"low": 0.01, "high": 100.0, "log": True}},
                        "pruner": "none", "storage": "memory"}, ("blr",), "t.yaml")

    def objective(trial, params):
        if params["blr"] > 1.0:
            raise FloatingPointError("non-finite training loss nan at step 3")
        return params["blr"]

    best, s = searched(probe_ctx(tmp_path, None), spec, objective)
    assert s["n_diverged"] == s["n_pruned"] >= 1 and s["n_complete"] + s["n_pruned"] == 6
    assert best["blr"] <= 1.0

    def always(trial, params):
        raise FloatingPointError("nan")

    with pytest.raises(ValueError, match="every search trial was pruned or diverged"):
        searched(probe_ctx(tmp_path / "x", None), {**spec, "trials": 2}, always)
