"""``rsbench run`` with a timm ResNet card: kNN, linear probe and fine-tune on the pyramid's pooled
features (timm's pre-logits), the load report of its timm checkpoint in the record."""

import json
from pathlib import Path

import pytest
import timm
import torch
import yaml
from pyramid_models import SMALL
from tiny_models import write_demo_task

from rsbench.cli import main

PROTOCOLS = {"knn": "{k: 3}", "linear_probe": "{epochs: 1, blr_grid: [0.1]}",
             "finetune": "{epochs: 1, batch_size: 32, warmup_epochs: 0, mixup: 0.0, cutmix: 0.0}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from safetensors.torch import save_file

    from rsbench.data import make_synthetic_ucmerced

    tmp = tmp_path_factory.mktemp("resnet_card")
    make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=4, size=32, seed=0)
    torch.manual_seed(0)
    classifier = timm.create_model("resnet18", num_classes=5, **SMALL["resnet18"])
    save_file(classifier.state_dict(), str(tmp / "resnet18.safetensors"))
    card = tmp / "card.yaml"
    card.write_text(yaml.safe_dump({
        "name": "resnet18_small", "arch": "timm:resnet18", "pool": "avg",
        "checkpoint": str(tmp / "resnet18.safetensors"),
        "arch_overrides": {"layers": list(SMALL["resnet18"]["layers"])},
        "input_spec": {"img_size": 32}}))
    return tmp, card


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_a_resnet_card_runs_the_classification_protocols(world, protocol):
    tmp, card = world
    task = write_demo_task(tmp, f"r_{protocol}", protocol, PROTOCOLS[protocol])
    out = tmp / f"out_{protocol}"
    assert main(["run", "--model", str(card), "--tasks", str(task), "--seeds", "0", "--out",
                 str(out), "--data-root", str(tmp / "data"), "--cache-dir", str(tmp / "cache"),
                 "--accelerator", "cpu", "--quiet"]) == 0
    (path,) = Path(out).rglob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "ok", record.get("error")
    report = record["model"]["load_report"]
    assert report["matched"] == report["total_keys"] and report["missing"] == []
    assert report["ignored_count"] == 2  # fc.weight, fc.bias: timm's ResNet classifier
    assert record["metrics"]
