"""The whole path through the CLI on synthetic UC Merced-layout data and a tiny ViT."""

import json

import pytest
import yaml
from tiny_models import write_tiny_card

from rsbench.cli import main

TASK = """include: [{root}/tasks/demo/_demo_dataset.yaml, {root}/tasks/classification/_protocols/{proto}.yaml]
task: {name}
version: 1
dataset: {{image_size: 32}}
"""
FAST = {"linear_probe": "protocol: {epochs: 5, blr_grid: [0.1, 1.0]}\n",
        "knn": "protocol: {k: 5}\n",
        "finetune": "protocol: {epochs: 1, batch_size: 16, warmup_epochs: 0, mixup: 0.0, cutmix: 0.0}\n"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from pathlib import Path

    from rsbench.data import make_synthetic_ucmerced

    tmp = tmp_path_factory.mktemp("e2e")
    repo = Path(__file__).resolve().parents[1]
    data = make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=6, size=32, seed=0)
    card = write_tiny_card(tmp, 32)
    ckpt = tmp / "tiny.safetensors"
    tasks = []
    for proto in ("linear_probe", "knn", "finetune"):
        path = tmp / f"e2e_{proto}.yaml"
        path.write_text(TASK.format(root=repo, proto=proto, name=f"e2e_{proto}") + FAST[proto])
        tasks.append(str(path))
    return {"tmp": tmp, "data_root": data.parent, "card": card, "tasks": ",".join(tasks), "ckpt": ckpt}


def run(world, out, *extra):
    return main(["run", "--model", str(world["card"]), "--tasks", world["tasks"], "--seeds", "0,1",
                 "--out", str(out), "--data-root", str(world["data_root"]),
                 "--cache-dir", str(world["tmp"] / "cache"), "--accelerator", "cpu", *extra])


def metrics_by_key(out):
    from rsbench.results import ResultStore

    return {(r["task"]["name"], r["seed"]): r["metrics"] for r in ResultStore(out).records()}


def test_run_writes_one_record_per_task_and_seed_then_is_a_no_op(world, capsys):
    out = world["tmp"] / "results"
    assert run(world, out) == 0
    files = sorted(out.rglob("*.json"))
    assert len(files) == 6
    record = json.loads(files[0].read_text())
    assert record["status"] == "ok"
    assert record["model"]["load_report"]["fraction_loaded"] == 1.0
    assert record["data"]["split_hash"] and record["task"]["spec_hash"]
    mtimes = [f.stat().st_mtime_ns for f in files]
    assert run(world, out) == 0  # every record exists: nothing re-runs, nothing is rewritten
    assert [f.stat().st_mtime_ns for f in sorted(out.rglob("*.json"))] == mtimes
    assert "all 6 run(s) already recorded" in capsys.readouterr().err


def test_same_seed_gives_bit_identical_metrics(world):
    first, second = world["tmp"] / "det_a", world["tmp"] / "det_b"
    assert run(world, first) == 0
    assert run(world, second) == 0
    assert metrics_by_key(first) == metrics_by_key(second)


def test_leaderboard_from_records(world, capsys):
    out = world["tmp"] / "results"
    run(world, out)
    assert main(["leaderboard", "--results", str(out), "--out", str(world["tmp"] / "lb")]) == 0
    table = capsys.readouterr().out
    assert "tiny" in table and "e2e_knn" in table
    assert (world["tmp"] / "lb" / "leaderboard.csv").exists()


def test_partial_checkpoint_refused_without_flag(world, tmp_path):
    from safetensors.torch import load_file, save_file

    state = {k: v for k, v in load_file(str(world["ckpt"])).items() if not k.startswith("blocks.1.")}
    save_file(state, str(tmp_path / "partial.safetensors"))
    card = yaml.safe_load(world["card"].read_text())
    card["checkpoint"] = str(tmp_path / "partial.safetensors")
    (tmp_path / "card.yaml").write_text(yaml.safe_dump(card))
    args = ["run", "--model", str(tmp_path / "card.yaml"), "--tasks", world["tasks"].split(",")[1],
            "--out", str(tmp_path / "r"), "--data-root", str(world["data_root"]), "--quiet",
            "--cache-dir", str(tmp_path / "c")]
    assert main(args) == 2  # refused before anything runs: no record at all
    assert not list(tmp_path.glob("r/**/*.json"))
    assert main([*args, "--allow-partial"]) == 0
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("r/**/*.json")]
    assert 0.4 < record["model"]["load_report"]["fraction_loaded"] < 0.99


def test_missing_dataset_becomes_a_failed_record(world, tmp_path):
    out = tmp_path / "r"
    code = main(["run", "--model", str(world["card"]), "--tasks", world["tasks"].split(",")[1],
                 "--out", str(out), "--data-root", str(tmp_path / "nowhere"), "--quiet",
                 "--cache-dir", str(tmp_path / "c")])
    assert code == 1
    (record,) = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert record["status"] == "failed" and "ucmerced" in record["error"]["message"].lower()
