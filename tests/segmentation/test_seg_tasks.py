from pathlib import Path

import pytest

from rsbench.cli import main
from rsbench.config import load_task
from rsbench.protocols import protocol_module, resolved_hparams

REPO = Path(__file__).resolve().parents[2]
SEG_TASKS = sorted((REPO / "tasks" / "segmentation").glob("[!_]*.yaml"))


def test_every_shipped_task_validates(capsys):
    assert main(["validate"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("path", SEG_TASKS, ids=lambda p: p.stem)
def test_segmentation_tasks_carry_the_published_numbers(path):
    task = load_task(path)
    hp = resolved_hparams(protocol_module(task.type, task.protocol_name).DEFAULTS, task.protocol, str(path))
    assert task.type == "segmentation" and task.primary_metric == "miou"
    assert task.dataset.image_size == (896 if task.dataset.name == "isaid" else 512)
    assert hp["slide_stride"] == (512 if task.dataset.name == "isaid" else 341)
    assert (hp["iterations"], hp["batch_size"], hp["lr"], hp["decoder"]) == (160_000, 8, 6e-5, "upernet")
    if task.protocol_name == "finetune":
        assert (hp["layer_decay"], hp["drop_path"]) == (0.9, 0.1)


def test_run_on_synthetic_loveda_writes_a_segmentation_record(tmp_path, tiny_card, run_one_record):
    from rsbench.data.segmentation import make_synthetic_loveda

    make_synthetic_loveda(tmp_path / "data" / "loveda", 4, 32, 0)
    task = tmp_path / "seg_e2e.yaml"
    task.write_text(f"include: [{REPO}/tasks/demo/demo_loveda_frozen.yaml]\ntask: seg_e2e\n"
                    "dataset: {image_size: 32}\nprotocol: {iterations: 4, batch_size: 4, slide_stride: 16}\n")
    record = run_one_record(tiny_card(tmp_path, 32), task, tmp_path)
    assert 0.0 <= record["metrics"]["miou"] <= 1.0 and "iou_building" in record["metrics"]
    assert record["data"]["split_hash"]
