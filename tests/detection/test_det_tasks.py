"""``rsbench run`` end to end on synthetic DIOR with the demo task (real data path, record)."""

import json
from pathlib import Path

import torch
import yaml

from rsbench.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_run_on_synthetic_dior_writes_a_detection_record(tmp_path):
    from safetensors.torch import save_file

    from rsbench.backbones import InputSpec, build_backbone
    from rsbench.data.detection import make_synthetic_dior

    make_synthetic_dior(tmp_path / "data" / "dior", 4, 64, 0)
    torch.manual_seed(0)
    bb = build_backbone("vit_tiny_patch16", InputSpec(img_size=64), depth=2, patch_size=8)
    save_file(bb.model.state_dict(), str(tmp_path / "tiny.safetensors"))
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny", "arch": "vit_tiny_patch16",
                                    "checkpoint": str(tmp_path / "tiny.safetensors"),
                                    "arch_overrides": {"depth": 2, "patch_size": 8},
                                    "input_spec": {"img_size": 64}}))
    task = tmp_path / "det_e2e.yaml"
    task.write_text(f"include: [{REPO}/tasks/demo/demo_dior_frozen.yaml]\ntask: det_e2e\n"
                    "dataset: {image_size: 64}\nprotocol: {iterations: 2, channels: 32}\n")
    out = tmp_path / "out"
    rc = main(["run", "--model", str(card), "--tasks", str(task), "--seeds", "0", "--out", str(out),
               "--data-root", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"),
               "--accelerator", "cpu", "--quiet"])
    assert rc == 0
    (record,) = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert record["status"] == "ok", record.get("error")
    m = record["metrics"]
    assert 0.0 <= m["map50"] <= 1.0 and "ap50_airplane" in m and record["primary_metric"] == "map50"
    assert record["data"]["split_hash"] and record["protocol"]["hparams"]["detector"] == "faster_rcnn"
