"""DOTA task files: which preparation each reads and which reference each metric reproduces."""

from pathlib import Path

import pytest

from rsbench.config import load_task
from rsbench.tasks.detection import METRIC_REFERENCES, METRICS, coco_scores

TASKS = Path(__file__).resolve().parents[2] / "tasks" / "detection"
DOTA = sorted(TASKS.glob("dota*.yaml"))


def test_both_variants_have_frozen_finetune_and_mmdet_tasks():
    assert [p.stem for p in DOTA] == [
        "dota_finetune", "dota_finetune_mmdet", "dota_frozen", "dota_mmrotate_finetune",
        "dota_mmrotate_finetune_mmdet", "dota_mmrotate_frozen"]


@pytest.mark.parametrize("path", DOTA, ids=lambda p: p.stem)
def test_dataset_names_the_variant_and_report_cites_the_metric_code(path):
    task = load_task(path)
    mmrotate = "mmrotate" in path.stem
    assert task.dataset.name == "dota"
    assert task.dataset.variant == ("mmrotate" if mmrotate else "devkit")
    assert task.dataset.root == ("dota_mmrotate" if mmrotate else None)
    assert task.primary_metric == "map50_dota" and task.primary_metric in METRICS
    # the record carries the spec, so it names each metric's reference; they must be the code's
    assert task.metrics["report"] == {k: METRIC_REFERENCES[k] for k in task.metrics["report"]}
    assert set(task.metrics["report"]) == set(METRIC_REFERENCES)


def test_the_variant_changes_the_spec_hash():
    devkit, mmrotate = (load_task(TASKS / f"{name}.yaml") for name in ("dota_frozen",
                                                                        "dota_mmrotate_frozen"))
    assert devkit.hash != mmrotate.hash


def test_every_referenced_metric_is_computed():
    coco = {"images": [{"id": 1, "width": 50, "height": 50}],
            "categories": [{"id": 1, "name": "plane"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10],
                             "ignore": 0}]}
    scores = coco_scores(coco, [{"image_id": 1, "boxes": [[0, 0, 10, 10]], "scores": [0.9],
                                 "labels": [0]}])
    assert set(METRIC_REFERENCES) <= set(scores)
    assert scores["map50_dota"] == pytest.approx(1.0) and scores["map50_voc"] == 1.0
