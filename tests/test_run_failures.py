"""A run's usage errors are refused before anything runs; every run failure is a record.

Usage errors (overrides a task cannot use, unknown tasks, other bands) must never reach the
results store; a run that fails (here: a LoveDA test split with no labelled pixel, whose mIoU
is undefined) ends as a ``failed`` record that says why, and the tasks after it still run.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_models import write_demo_task, write_tiny_card

from rsbench.cli import main
from rsbench.results.record import failure_info


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from rsbench.data import make_synthetic_ucmerced
    from rsbench.data.segmentation import make_synthetic_loveda

    tmp = tmp_path_factory.mktemp("failures")
    make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=4, size=32, seed=0)
    loveda = make_synthetic_loveda(tmp / "data" / "loveda", 4, 32, 0)
    for mask in (loveda / "Val").rglob("masks_png/*.png"):  # the split scored as test: all no-data
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(mask)
    tasks = {"knn": str(write_demo_task(tmp, "t_knn", "knn", "{k: 3}")),
             "linear_probe": str(write_demo_task(tmp, "t_linear_probe", "linear_probe",
                                                 "{epochs: 2, blr_grid: [0.1]}")),
             "seg": str(write_demo_task(tmp, "seg_unlabelled", "seg",
                                        "{iterations: 2, batch_size: 4, slide_stride: 16}"))}
    return {"tmp": tmp, "card": write_tiny_card(tmp, 32), "tasks": tasks}


def run(world, out, tasks, *extra):
    return main(["run", "--model", str(world["card"]), "--tasks", ",".join(tasks), "--seeds", "0",
                 "--out", str(out), "--data-root", str(world["tmp"] / "data"),
                 "--cache-dir", str(world["tmp"] / "cache"), "--accelerator", "cpu", "--quiet", *extra])


def records(out):
    return sorted((json.loads(p.read_text()) for p in Path(out).rglob("*.json")),
                  key=lambda r: r["task"]["name"])


def test_an_override_one_task_cannot_use_is_refused_before_anything_runs(world, tmp_path, capsys):
    t = world["tasks"]
    assert run(world, tmp_path / "r", [t["linear_probe"], t["knn"]], "--set", "protocol.epochs=3") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rsbench: error: t_knn: --set protocol.epochs is not used by its protocol 'knn'; "
                   "set it for the tasks that use it with --set TASK:protocol.KEY=VALUE"]
    assert not (tmp_path / "r").exists()  # no record, not even a failed one


def test_a_per_task_override_applies_to_that_task_only(world, tmp_path, capsys):
    t = world["tasks"]
    assert run(world, tmp_path / "r", [t["linear_probe"], t["knn"]],
               "--set", "t_linear_probe:protocol.epochs=3") == 0
    knn, probe = records(tmp_path / "r")
    results = json.loads(capsys.readouterr().out)["results"]  # the summary, machine-readable
    assert [(r["task"], r["status"], r["value"]) for r in results] == [
        ("t_linear_probe", "ok", probe["metrics"]["overall_accuracy"]),
        ("t_knn", "ok", knn["metrics"]["overall_accuracy"])]
    assert all(Path(r["record"]).is_file() for r in results)
    assert probe["protocol"]["hparams"]["epochs"] == 3
    assert probe["inputs"]["protocol_overrides"] == {"protocol": {"epochs": 3}}
    assert knn["inputs"]["protocol_overrides"] == {} and "epochs" not in knn["protocol"]["hparams"]


def test_every_usage_problem_of_the_command_is_one_line(world, tmp_path, capsys):
    t = world["tasks"]
    code = run(world, tmp_path / "r", [t["knn"], "no_such_task"],
               "--set", "other:protocol.k=2", "--set", "archh.depth=2")
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("rsbench: error: ") for line in err)
    assert "--set archh…: a task has no field 'archh'" in err[0] and "arch.KEY=VALUE" in err[0]
    assert "unknown task 'no_such_task'" in err[1]
    assert "--set other:…: task 'other' is not among --tasks" in err[2]
    assert not (tmp_path / "r").exists()


def test_arch_overrides_on_run_reach_the_model(world, tmp_path):
    # The card says depth 2; with depth 1 the checkpoint's second block has no place to go.
    assert run(world, tmp_path / "r", [world["tasks"]["knn"]], "--set", "arch.depth=1") == 0
    (record,) = records(tmp_path / "r")
    assert record["model"]["arch_overrides"] == {"depth": 1, "patch_size": 8}
    assert record["inputs"]["model"]["arch_overrides"] == {"depth": 1, "patch_size": 8}
    assert any(k.startswith("blocks.1.") for k in record["model"]["load_report"]["unexpected"])


def test_other_bands_are_refused_before_anything_runs(world, tmp_path, capsys):
    t = world["tasks"]
    assert run(world, tmp_path / "r", [t["knn"]], "--set", "dataset.bands=[R, G, NIR]") == 2
    assert "t_knn: task bands ['R', 'G', 'NIR'] differ from model tiny's input bands" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_an_undefined_metric_is_a_failed_record_and_later_tasks_still_run(world, tmp_path):
    t = world["tasks"]
    assert run(world, tmp_path / "r", [t["seg"], t["knn"]]) == 1  # 1: some run failed
    seg, knn = records(tmp_path / "r")
    assert seg["status"] == "failed" and seg["error"]["type"] == "rsbench.errors.MetricUndefined"
    assert seg["error"]["message"].startswith("seg_unlabelled: primary metric 'miou' is ")
    assert "nothing to score" in seg["error"]["message"]
    assert knn["status"] == "ok"


def test_failure_messages_are_kept_whole():
    ending = "download it from https://example.org/data and unpack it under data/x"
    info = failure_info(FileNotFoundError("x " * 400 + "\n" + ending))
    assert info["message"].endswith(ending) and len(info["message"]) > 800


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="no such file"):
        main(["run", "--model", str(tmp_path / "none.pth"), "--arch", "vit_tiny_patch16",
              "--tasks", "x", "--out", str(tmp_path), "--debug"])


def test_a_variant_on_a_dataset_without_variants_is_refused(tmp_path):
    from rsbench.config import DatasetSpec, SpecError
    from rsbench.data.build import build_classification_data

    spec = DatasetSpec(name="ucmerced", split={"kind": "official", "name": "torchgeo"},
                       image_size=32, variant="rgb-eroded-6cls")
    with pytest.raises(SpecError, match="dataset 'ucmerced' has no variants; remove dataset.variant"):
        build_classification_data(spec, tmp_path, tmp_path / "splits")


def test_an_empty_split_is_an_undefined_metric_not_a_crash():
    import torch

    from rsbench.errors import MetricUndefined
    from rsbench.protocols.knn import knn_predictions
    from rsbench.tasks import plugin

    preds = knn_predictions(torch.randn(5, 4), torch.arange(5), torch.empty(0, 4), 5, k=3)
    with pytest.raises(MetricUndefined, match="the split scored is empty"):
        plugin("classification").scores(preds, torch.empty(0, dtype=torch.long), 5)


def test_a_failure_after_the_preemption_warning_writes_no_record(world, tmp_path, monkeypatch):
    """A peer rank killed by the requeue fails this one; a failed record would make the requeued
    job skip the seed, so the process exits non-zero and leaves nothing (launch.sh requeues)."""
    from rsbench.engine import resume

    monkeypatch.setattr(resume, "_warned", True)
    with pytest.raises(SystemExit) as ended:
        run(world, tmp_path / "r", [world["tasks"]["seg"]])
    assert ended.value.code == 1
    assert records(tmp_path / "r") == []


def test_a_protocol_its_task_type_lacks_is_one_line_in_run_and_validate(world, tmp_path, capsys):
    seg_knn = tmp_path / "seg_knn.yaml"
    seg_knn.write_text(Path(world["tasks"]["seg"]).read_text().replace("task: seg_unlabelled", "task: seg_knn")
                       .replace("protocol: {", "protocol: {name: knn, "))
    expected = "protocol 'knn' is not available for segmentation; use one of finetune, frozen"
    assert run(world, tmp_path / "r", [str(seg_knn)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"rsbench: error: seg_knn: {expected}"]
    assert main(["validate", str(seg_knn)]) == 1
    assert f"{seg_knn}: {expected}" in capsys.readouterr().err


def test_randaugment_on_13_bands_is_refused_by_the_usage_check(world, tmp_path, capsys):
    # TrainedProtocol.validated runs on the spec alone, before any data or checkpoint is read.
    assert run(world, tmp_path / "r", ["eurosat13_official_finetune"], "--set", "protocol.augment=rgb_randaug",
               "--data-root", str(tmp_path / "nowhere")) == 2
    err = capsys.readouterr().err
    assert err.startswith("rsbench: error: ") and err.count("\n") == 1
    assert ("tasks/classification/eurosat13_official_finetune.yaml: protocol.augment is 'rgb_randaug' "
            "but the data has 13 bands;") in err
    assert not (tmp_path / "r").exists()


def test_a_probe_that_cannot_choose_a_blr_fails_before_any_feature_is_extracted(world, tmp_path):
    from rsbench.engine.features import forwarded_images

    grid = write_demo_task(world["tmp"], "t_probe_grid", "linear_probe",
                           "{epochs: 2, blr_grid: [0.1, 1.0]}")
    before = forwarded_images()
    assert run(world, tmp_path / "r", [str(grid)], "--set", "dataset.split.val_fraction=0") == 1
    (rec,) = records(tmp_path / "r")
    assert rec["status"] == "failed"
    assert rec["error"]["message"] == (
        "t_probe_grid: the validation split is empty, so no blr can be chosen from blr_grid; "
        "raise dataset.split.val_fraction or give one blr")
    assert forwarded_images() == before  # refused on the split sizes, not after the backbone pass
