"""The ISPRS task files: one per variant and protocol, each variant valid for its dataset and
part of the spec hash that records pin."""

from rsbench.config import find_task, load_task, task_files
from rsbench.data.segmentation.isprs_variant import read_variant

EXPECTED = {
    "potsdam_6cls": "rgb-eroded-6cls", "potsdam_5cls": "rgb-eroded-5cls",
    "potsdam_pangaea": "pangaea-5cls", "vaihingen_6cls": "irrg-eroded-6cls",
    "vaihingen_5cls": "irrg-eroded-5cls",
}


def test_every_isprs_task_names_a_valid_variant():
    isprs = [load_task(p) for p in task_files() if p.stem.startswith(("potsdam", "vaihingen"))]
    assert sorted(t.task for t in isprs) == sorted(f"{k}_{p}" for k in EXPECTED
                                                   for p in ("frozen", "finetune"))
    for task in isprs:
        stem = task.task.rsplit("_", 1)[0]
        assert task.dataset.variant == EXPECTED[stem]
        assert read_variant(task.dataset.name, task.dataset.variant).name == EXPECTED[stem]
        assert task.dataset.split == {"kind": "official", "name": "mmseg"}


def test_the_variant_is_in_the_spec_hash():
    six, five = find_task("potsdam_6cls_frozen"), find_task("potsdam_5cls_frozen")
    assert six.raw["dataset"]["variant"] == "rgb-eroded-6cls"
    assert {**six.raw, "dataset": {**six.raw["dataset"], "variant": None}, "task": None} == \
        {**five.raw, "dataset": {**five.raw["dataset"], "variant": None}, "task": None}
    assert six.hash != five.hash
