"""Fixtures shared across test folders."""

from pathlib import Path

import pytest
import torch
import yaml


@pytest.fixture
def tiny_card():
    """``make(folder, img_size) -> card path``: a seeded 2-block ViT-Ti/8 saved as safetensors
    next to a model card that reads it; what the end-to-end tests of every task type score."""

    def make(folder: Path, img_size: int) -> Path:
        from safetensors.torch import save_file

        from rsbench.backbones import InputSpec, build_backbone

        torch.manual_seed(0)
        bb = build_backbone("vit_tiny_patch16", InputSpec(img_size=img_size), depth=2, patch_size=8)
        save_file(bb.model.state_dict(), str(folder / "tiny.safetensors"))
        card = folder / "card.yaml"
        card.write_text(yaml.safe_dump({"name": "tiny", "arch": "vit_tiny_patch16",
                                        "checkpoint": str(folder / "tiny.safetensors"),
                                        "arch_overrides": {"depth": 2, "patch_size": 8},
                                        "input_spec": {"img_size": img_size}}))
        return card

    return make


@pytest.fixture
def run_one_record():
    """``run(card, task_yaml, folder) -> record``: ``rsbench run`` on CPU for seed 0, data under
    ``folder/data``; asserts the exit code and returns the single record written."""

    def run(card: Path, task: Path, folder: Path) -> dict:
        import json

        from rsbench.cli import main

        out = folder / "out"
        rc = main(["run", "--model", str(card), "--tasks", str(task), "--seeds", "0",
                   "--out", str(out), "--data-root", str(folder / "data"),
                   "--cache-dir", str(folder / "cache"), "--accelerator", "cpu", "--quiet"])
        assert rc == 0
        (record,) = [json.loads(p.read_text()) for p in out.rglob("*.json")]
        assert record["status"] == "ok", record.get("error")
        return record

    return run
