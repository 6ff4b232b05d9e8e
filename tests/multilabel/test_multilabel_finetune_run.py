"""``rsbench run`` of the shipped BigEarthNet fine-tune recipe on the fake BigEarthNet: the 12-band
patches go through the geometric augmentation, an RGB model is fed B04, B03, B02, and the record
holds the four multi-label metrics and the recipe the run used."""

import json
from pathlib import Path

import pytest
from tiny_models import write_tiny_card

from rsbench.cli import main

TASKS = Path(__file__).resolve().parents[2] / "tasks" / "multilabel"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_bigearthnet_finetune_record(tmp_path, bigearthnet_root):
    task = tmp_path / "ben_finetune.yaml"
    task.write_text(f"include: [{TASKS}/bigearthnet_s2_finetune.yaml]\ntask: ben_finetune\n"
                    "version: 1\ndataset: {image_size: 16}\n"
                    "protocol: {epochs: 1, batch_size: 2, warmup_epochs: 0}\n")
    out = tmp_path / "out"
    assert main(["run", "--model", str(write_tiny_card(tmp_path, 16)), "--tasks", str(task),
                 "--seeds", "0", "--out", str(out), "--data-root", str(bigearthnet_root),
                 "--cache-dir", str(tmp_path / "cache"), "--accelerator", "cpu", "--quiet"]) == 0
    (path,) = out.rglob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "ok", record.get("error")
    assert sorted(record["metrics"]) == ["f1_macro", "f1_micro", "map_macro", "map_micro"]
    assert [m["data"] for m in record["data"]["input"]["mapping"]] == [
        "s2_l2a:B04", "s2_l2a:B03", "s2_l2a:B02"]
    hp = record["protocol"]["hparams"]
    assert (hp["augment"], hp["min_crop_scale"], hp["blr"], hp["lr"]) == ("geometric", 0.8, 5e-5,
                                                                          5e-5 * 2 / 256)
    assert "binary cross-entropy on the logits" in hp["recipe"]
    assert "scale 0.8-1" in hp["recipe"] and "1 epochs" in hp["recipe"]
