"""``rsbench run`` with a zoo card: DOFA on RGB data, the bands present and their wavelengths
recorded, the load report in the record."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from tiny_models import write_demo_task
from torchgeo.models.dofa import DOFA
from zoo_helpers import released

from rsbench.cli import main

BASE = {"embed_dim": 768, "num_heads": 12, "patch_size": 16, "depth": 1}


def dofa_knn_record(tmp_path, reduced, *extra: str) -> dict:
    """The record of a kNN run of a reduced DOFA card on synthetic UC Merced."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    from rsbench.data import make_synthetic_ucmerced

    reduced("dofa_base_patch16_224", "torchgeo.models.dofa:DOFA", **BASE)
    torch.manual_seed(0)
    path = released(tmp_path, DOFA(img_size=32, num_classes=0, **BASE),
                    absent=("fc_norm.weight", "fc_norm.bias"))
    card = tmp_path / "dofa.yaml"
    card.write_text(yaml.safe_dump({"name": "dofa_tiny", "arch": "zoo:dofa_base_patch16_224",
                                    "checkpoint": str(path), "pool": "avg"}))
    make_synthetic_ucmerced(tmp_path / "data" / "ucmerced", n_per_class=3, size=32, seed=0)
    task = write_demo_task(tmp_path, "rgb_knn", "knn", "{k: 3}")
    out = tmp_path / "out"
    assert main(["run", "--model", str(card), "--tasks", str(task), "--seeds", "0", "--out",
                 str(out), "--data-root", str(tmp_path / "data"), "--cache-dir",
                 str(tmp_path / "cache"), "--accelerator", "cpu", "--quiet", *extra]) == 0
    (record_path,) = Path(out).rglob("*.json")
    return json.loads(record_path.read_text())


def test_dofa_card_runs_knn_on_rgb_and_records_wavelengths(tmp_path, reduced):
    rec = dofa_knn_record(tmp_path, reduced)
    assert rec["status"] == "ok"
    inp = rec["data"]["input"]
    assert inp["encoder_bands"] == ["s2_l1c:B02", "s2_l1c:B03", "s2_l1c:B04"]
    assert inp["band_fill"] is None and len(inp["missing"]) == 10
    assert inp["conditioning"] == "wavelength"
    assert [(p["band"], p["wavelength_nm"]) for p in inp["physics"]] == [
        ("rgb:B", 492.7), ("rgb:G", 559.8), ("rgb:R", 664.6)]  # ESA S2-SRF centres of B02-B04
    assert inp["patch_embed"] == "wavelength-conditioned: 13 -> 3 input channels (model bands [1, 2, 3])"


@pytest.mark.usefixtures("in_process_distributed")  # tests/conftest.py
def test_a_zoo_encoder_under_fsdp_is_read_whole_and_scores_the_same(tmp_path, reduced):
    """Zoo encoders are torchgeo's modules in their released layouts: under --strategy fsdp
    they are read whole (not lazily), placed by the frozen plan, and score as without it."""
    plain = dofa_knn_record(tmp_path / "plain", reduced)
    sharded = dofa_knn_record(tmp_path / "fsdp", reduced, "--strategy", "fsdp")
    assert sharded["status"] == "ok"
    assert sharded["timings"]["features_encoder"].startswith("replicated: a whole encoder needs")
    assert sharded["metrics"] == plain["metrics"]
