"""Suite planning: the classification suite's frozen tasks run the backbone once per image."""

from __future__ import annotations

import json

from fake_data import generator

from rsbench.cli import main
from rsbench.engine.feature_store import store_report
from rsbench.engine.features import forwarded_images

PROBES = ["ucmerced_8_2_linear_probe", "ucmerced_5_5_linear_probe", "aid_2_8_linear_probe",
          "aid_5_5_linear_probe", "resisc45_1_9_linear_probe", "resisc45_2_8_linear_probe"]
KNNS = ["ucmerced_8_2_knn", "aid_2_8_knn", "resisc45_1_9_knn"]
PER_CLASS = 10  # UC Merced 21, AID 30, NWPU-RESISC45 45 classes: 960 distinct images


def test_the_frozen_suite_runs_one_forward_pass_per_distinct_image(tmp_path, tiny_card):
    data = tmp_path / "data"
    for name in ("ucmerced", "aid", "resisc45"):
        generator(name).make(data / name, n_per_class=PER_CLASS, size=16, seed=0)
    distinct = (21 + 30 + 45) * PER_CLASS
    card = tiny_card(tmp_path, 32)
    cheap = [f"{t}:protocol.{k}" for t in PROBES for k in ("epochs=1", "blr_grid=[0.1]")]
    before = forwarded_images()
    rc = main(["run", "--model", str(card), "--tasks", ",".join(PROBES + KNNS), "--seeds", "0",
               "--out", str(tmp_path / "out"), "--data-root", str(data),
               "--cache-dir", str(tmp_path / "cache"), "--accelerator", "cpu", "--quiet",
               "--set", "dataset.image_size=32", *[a for c in cheap for a in ("--set", c)]])
    assert rc == 0
    assert forwarded_images() - before == distinct  # 1.00x: 960 forwards for 960 images
    (space,) = store_report(tmp_path / "cache")
    assert (space["images"], space["chunks"]) == (distinct, 1)  # one pass, before any head
    records = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("*.json")]
    assert sorted(r["task"]["name"] for r in records) == sorted(PROBES + KNNS)
    assert all(r["status"] == "ok" and r["timings"]["features_extracted"] == 0 for r in records)
