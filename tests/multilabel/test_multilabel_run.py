"""``rsbench run`` of both multi-label protocols on the fake BigEarthNet with a tiny RGB ViT: ok
records whose metrics equal a numpy recomputation from the cached features."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from reference_metrics import knn_votes, multilabel_metrics
from tiny_models import write_tiny_card

from rsbench.cli import main

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "tasks" / "multilabel"


@pytest.fixture(scope="module")
def world(tmp_path_factory, bigearthnet_root):
    tmp = tmp_path_factory.mktemp("ben_run")
    tasks = {}
    for protocol, options in (("knn", "{k: 3}"),
                              ("linear_probe", "{epochs: 4, batch_size: 4, warmup_epochs: 1, "
                                               "blr_grid: [0.3, 3.0]}")):
        tasks[protocol] = tmp / f"ben_{protocol}.yaml"
        tasks[protocol].write_text(
            f"include: [{TASKS}/_datasets/bigearthnet_s2.yaml, {TASKS}/_protocols/{protocol}.yaml]"
            f"\ntask: ben_{protocol}\nversion: 1\ndataset: {{image_size: 16}}\n"
            f"protocol: {options}\n")
    return {"tmp": tmp, "data": bigearthnet_root, "card": write_tiny_card(tmp, 16), **tasks}


def run(world, protocol: str) -> dict:
    out = world["tmp"] / f"out_{protocol}"
    assert main(["run", "--model", str(world["card"]), "--tasks", str(world[protocol]),
                 "--seeds", "0", "--out", str(out), "--data-root", str(world["data"]),
                 "--cache-dir", str(world["tmp"] / "cache"), "--accelerator", "cpu",
                 "--quiet"]) == 0
    (path,) = out.rglob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "ok", record.get("error")
    return record


def cached_features(world, record: dict) -> dict:
    path = world["tmp"] / "cache" / "features" / f"{record['timings']['feature_cache_key']}.pt"
    return torch.load(path, weights_only=True)["splits"]


def test_knn_record_equals_numpy_votes_and_metrics(world):
    record = run(world, "knn")
    splits = cached_features(world, record)
    (xtr, ytr), (xva, yva), (xte, yte) = (splits[s] for s in ("train", "val", "test"))
    assert ytr.shape == (6, 19) and yte.shape == (5, 19)
    votes = knn_votes(torch.cat([xtr, xva]).double().numpy(), torch.cat([ytr, yva]).numpy(),
                      xte.double().numpy(), k=3, temperature=0.07)
    hand = multilabel_metrics(votes, yte.numpy())
    assert record["metrics"] == pytest.approx(hand, abs=1e-6)
    assert record["data"]["input"]["encoder_bands"] == ["rgb:R", "rgb:G", "rgb:B"]
    assert [m["data"] for m in record["data"]["input"]["mapping"]] == [
        "s2_l2a:B04", "s2_l2a:B03", "s2_l2a:B02"]
    assert record["data"]["n_test"] == 5 and record["data"]["num_classes"] == 19


def test_linear_probe_record_equals_the_bce_head_scored_by_numpy(world):
    from rsbench.engine.trainer import EngineOptions
    from rsbench.protocols.linear_probe import DEFAULTS, fitted_head
    from rsbench.tasks.multilabel import probe_loss

    record = run(world, "linear_probe")
    hp = record["protocol"]["hparams"]
    assert hp["loss"] == "binary_cross_entropy_with_logits"
    splits = cached_features(world, record)
    (xtr, ytr), (xva, yva), (xte, yte) = (splits[s] for s in ("train", "val", "test"))
    ctx = SimpleNamespace(seed=0, opts=EngineOptions(accelerator="cpu"))
    settings = {**DEFAULTS, "epochs": 4, "batch_size": 4, "warmup_epochs": 1}
    head = fitted_head(torch.cat([xtr, xva]), torch.cat([ytr, yva]), 19, hp["blr"], settings,
                       ctx, loss=probe_loss)
    with torch.no_grad():
        probs = torch.sigmoid(head(xte)).double().numpy()
    assert record["metrics"] == pytest.approx(multilabel_metrics(probs, yte.numpy()), abs=1e-6)
    assert set(hp["val_sweep"]) == {"0.3", "3.0"} and hp["blr"] in (0.3, 3.0)
    assert np.isfinite(record["metrics"]["map_macro"])


def test_dataset_normalisation_takes_the_train_split_statistics_of_b04_b03_b02(world):
    task = world["tmp"] / "ben_knn_norm.yaml"
    task.write_text(world["knn"].read_text().replace(
        "dataset: {image_size: 16}", "dataset: {image_size: 16, normalisation: dataset}"))
    world["knn_norm"] = task
    inp = run(world, "knn_norm")["data"]["input"]
    stats = inp["statistics"]
    assert inp["normalisation"] == "dataset" and stats["images"] == 6 and len(stats["mean"]) == 12
    assert inp["mean"] == [stats["mean"][i] for i in (3, 2, 1)]
