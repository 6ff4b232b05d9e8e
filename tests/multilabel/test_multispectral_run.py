"""``rsbench run`` kNN on the multispectral suite's new datasets: BigEarthNet v1 Sentinel-1 with a
tiny 2-band SAR ViT and So2Sat with the tiny RGB ViT; records whose metrics equal a numpy
recomputation from the cached features and whose data.input names each band's source."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from fake_data import generator
from reference_metrics import knn_votes, multilabel_metrics
from tiny_models import write_tiny_card

from rsbench.cli import main

REPO = Path(__file__).resolve().parents[2]


def sar_card(folder: Path, size: int) -> Path:
    """A seeded 2-block ViT-Ti/8 on VV, VH (sensor s1) and its card: trained on dB with mean
    -12 / -19 and std 4, so it declares value scale 60 and mean + 50 (``rsbench.data.sar``)."""
    from safetensors.torch import save_file

    from rsbench.backbones import InputSpec, build_backbone

    spec = {"bands": ["VV", "VH"], "mean": [38.0, 31.0], "std": [4.0, 4.0], "sensor": "s1",
            "value_scale": 60.0, "img_size": size}
    torch.manual_seed(0)
    model = build_backbone("vit_tiny_patch16", InputSpec(**{**spec, "bands": ("VV", "VH")}),
                           depth=2, patch_size=8)
    save_file(model.model.state_dict(), str(folder / "sar.safetensors"))
    card = folder / "sar.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny-sar", "arch": "vit_tiny_patch16",
                                    "checkpoint": str(folder / "sar.safetensors"),
                                    "arch_overrides": {"depth": 2, "patch_size": 8},
                                    "input_spec": spec}))
    return card


def task(folder: Path, name: str, base: str) -> Path:
    path = folder / f"{name}.yaml"
    kind = base.split("/")[0]
    path.write_text(f"include: [{REPO}/tasks/{base}, {REPO}/tasks/{kind}/_protocols/knn.yaml]\n"
                    f"task: {name}\nversion: 1\ndataset: {{image_size: 16}}\nprotocol: {{k: 3}}\n")
    return path


def run(card: Path, task_file: Path, data: Path, tmp: Path) -> dict:
    out = tmp / f"out_{task_file.stem}"
    assert main(["run", "--model", str(card), "--tasks", str(task_file), "--seeds", "0",
                 "--out", str(out), "--data-root", str(data), "--cache-dir", str(tmp / "cache"),
                 "--accelerator", "cpu", "--quiet"]) == 0
    (path,) = out.rglob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "ok", record.get("error")
    return record


def features(tmp: Path, record: dict) -> list:
    path = tmp / "cache" / "features" / f"{record['timings']['feature_cache_key']}.pt"
    splits = torch.load(path, weights_only=True)["splits"]
    return [splits[s] for s in ("train", "val", "test")]


def stored_features(tmp: Path, record: dict, root: Path) -> list:
    """Per split, the per-image store's rows of its HDF5 rows and their labels."""
    from rsbench.engine.feature_store import FeatureStore, image_id

    labels = generator("so2sat").LABELS
    store = FeatureStore(tmp / "cache", {})
    store.dir = tmp / "cache" / "features" / record["timings"]["feature_store"]
    return [(store.gather([image_id(root / f"{name}#{i}") for i in range(len(labels[name]))]),
             torch.tensor(labels[name])) for name in ("training.h5", "validation.h5", "testing.h5")]


def test_bigearthnet_s1_knn_record_equals_numpy(tmp_path, bigearthnet_root):
    record = run(sar_card(tmp_path, 16),
                 task(tmp_path, "ben_s1_knn", "multilabel/_datasets/bigearthnet_s1.yaml"),
                 bigearthnet_root, tmp_path)
    (xtr, ytr), (xva, yva), (xte, yte) = features(tmp_path, record)
    votes = knn_votes(torch.cat([xtr, xva]).double().numpy(), torch.cat([ytr, yva]).numpy(),
                      xte.double().numpy(), k=3, temperature=0.07)
    assert record["metrics"] == pytest.approx(multilabel_metrics(votes, yte.numpy()), abs=1e-6)
    inputs = record["data"]["input"]
    assert [(m["model"], m["data"], m["rule"]) for m in inputs["mapping"]] == [
        ("s1:VV", "s1:VV", "name"), ("s1:VH", "s1:VH", "name")]
    assert inputs["value_scale"] == {"data": 60.0, "model": 60.0}
    assert inputs["mean"] == [38.0, 31.0] and inputs["normalisation"] == "model"


def test_so2sat_knn_record_equals_numpy(tmp_path):
    data = tmp_path / "data"
    generator("so2sat").make(data / "so2sat")
    record = run(write_tiny_card(tmp_path, 16),
                 task(tmp_path, "so2sat_knn", "classification/_datasets/so2sat_official.yaml"),
                 data, tmp_path)
    (xtr, ytr), (xva, yva), (xte, yte) = stored_features(tmp_path, record, data / "so2sat")
    assert yte.tolist() == generator("so2sat").LABELS["testing.h5"]
    onehot = np.eye(17)[torch.cat([ytr, yva]).numpy()]
    votes = knn_votes(torch.cat([xtr, xva]).double().numpy(), onehot, xte.double().numpy(),
                      k=3, temperature=0.07)
    accuracy = float((votes.argmax(axis=1) == yte.numpy()).mean())
    assert record["metrics"]["overall_accuracy"] == pytest.approx(accuracy, abs=1e-7)  # float32
    assert [m["data"] for m in record["data"]["input"]["mapping"]] == [
        "s2_l1c:B04", "s2_l1c:B03", "s2_l1c:B02"]
    assert record["data"]["n_test"] == 5 and record["data"]["num_classes"] == 17
