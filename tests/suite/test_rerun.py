"""A re-run that the records answer: decided from them, printed, exit 0, torch never imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rsbench import hashcache
from rsbench.config import find_task, load_card
from rsbench.engine.trainer import EngineOptions
from rsbench.loaded_model import LoadedModel
from rsbench.protocols.base import ProtocolResult
from rsbench.results import ResultStore
from rsbench.runner import RunOptions, assembled, run_inputs

TASKS = ["ucmerced_8_2_knn", "ucmerced_5_5_knn", "aid_2_8_knn", "aid_5_5_knn",
         "resisc45_1_9_knn", "resisc45_2_8_knn", "ucmerced_8_2_linear_probe",
         "aid_2_8_linear_probe", "resisc45_1_9_linear_probe", "resisc45_2_8_linear_probe"]
SEEDS = [0, 1]  # 10 tasks x 2 seeds: a 20-record suite


@pytest.fixture
def suite(tmp_path):
    """A card whose checkpoint is never read (explicit arch) and 20 hand-made ok records."""
    (tmp_path / "weights.bin").write_bytes(b"not loaded by a recorded re-run")
    card_path = tmp_path / "card.yaml"
    card_path.write_text(yaml.safe_dump({"name": "m", "arch": "vit_small_patch16",
                                         "checkpoint": "weights.bin"}))
    opts = RunOptions(out=tmp_path / "out", cache_dir=tmp_path / "cache",
                      engine=EngineOptions(accelerator="cpu"))
    hashcache.remember_in(opts.cache_dir)
    model = LoadedModel(load_card(card_path), opts)
    store, paths = ResultStore(opts.out), []
    for i, name in enumerate(TASKS):
        task = find_task(name)
        for seed in SEEDS:
            result = ProtocolResult({"overall_accuracy": 0.5 + i / 100 + seed / 1000}, {})
            record = assembled(model, task, seed, opts, run_inputs(model, task, seed, opts), 0.0,
                               result, None, None)
            paths.append(str(store.write(record)))
    hashcache.remember_in(None)
    return tmp_path, card_path, paths


def rerun(folder: Path, card: Path, tasks: list[str]) -> subprocess.CompletedProcess:
    """``rsbench run`` in a new process, which reports on stderr whether torch was imported."""
    argv = ["run", "--model", str(card), "--tasks", ",".join(tasks), "--seeds", "0,1",
            "--out", str(folder / "out"), "--cache-dir", str(folder / "cache"),
            "--accelerator", "cpu", "--quiet"]
    code = ("import sys; from rsbench.cli import main; rc = main(sys.argv[1:]); "
            "print('TORCH', 'torch' in sys.modules, file=sys.stderr); sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          timeout=120)


def test_an_all_recorded_suite_is_answered_from_its_records_without_torch(suite):
    folder, card, paths = suite
    done = rerun(folder, card, TASKS)
    assert done.returncode == 0, done.stderr
    assert "TORCH False" in done.stderr
    out = json.loads(done.stdout)
    assert (out["records"], out["failed"]) == (20, 0)
    assert sorted(r["record"] for r in out["results"]) == sorted(paths)
    by_cell = {(r["task"], r["seed"]): r["value"] for r in out["results"]}
    assert by_cell[("aid_2_8_knn", 1)] == 0.5 + 2 / 100 + 1 / 1000


def test_a_missing_record_takes_the_full_path(suite):
    folder, card, paths = suite
    Path(paths[-1]).unlink()  # resisc45_2_8_linear_probe seed 1
    from rsbench.recorded import recorded_suite

    hashcache.remember_in(folder / "cache")
    options = lambda common, per_task: RunOptions(  # noqa: E731
        out=folder / "out", cache_dir=folder / "cache", engine=EngineOptions(accelerator="cpu"),
        overrides=common, task_overrides=per_task)
    card_obj = load_card(card)
    assert recorded_suite(card_obj, TASKS[:-1], [], SEEDS, options) is not None
    assert recorded_suite(card_obj, TASKS, [], SEEDS, options) is None
    # A --set value is part of every record's inputs: none of these runs is recorded.
    assert recorded_suite(card_obj, TASKS[:1], ["protocol.k=5"], SEEDS, options) is None
    hashcache.remember_in(None)


def test_precision_auto_is_resolved_without_torch_only_where_it_is_sure(monkeypatch):
    from rsbench.engine import precision as recorded

    assert recorded.run_precision("bf16-mixed", "auto") == "bf16-mixed"
    assert recorded.run_precision("auto", "cpu") == "32-true"
    monkeypatch.setattr(recorded, "gpu_device_files", lambda: [])
    assert recorded.run_precision("auto", "auto") == "32-true"  # no device file, no GPU
    asked = []
    monkeypatch.setattr(recorded, "gpu_device_files", lambda: ["nvidia0", "nvidiactl"])
    monkeypatch.setattr(recorded, "torch_precision",
                        lambda p, a: asked.append((p, a)) or "bf16-mixed")
    hashcache.forget_in_memory()
    assert recorded.run_precision("auto", "auto") == "bf16-mixed"
    assert recorded.run_precision("auto", "auto") == "bf16-mixed"  # kept: asked once
    assert asked == [("auto", "auto")]
    hashcache.forget_in_memory()


def test_an_arch_auto_card_reads_its_checkpoint_once_per_version(tmp_path, tiny_card, monkeypatch):
    from rsbench import recorded

    tiny_card(tmp_path, 32)  # writes tiny.safetensors
    args = (str(tmp_path / "tiny.safetensors"), "tiny")
    hashcache.remember_in(tmp_path / "cache")
    first = recorded.model_card(*args)
    assert (first.arch, first.arch_overrides["depth"]) == ("vit_tiny_patch16", 2)

    def never(*_):
        raise AssertionError("the checkpoint was read again")

    monkeypatch.setattr("rsbench.checkpoints.infer.card_arch", never)
    hashcache.forget_in_memory()  # a new process: only the disk entry is left
    assert recorded.model_card(*args) == first
    os.utime(tmp_path / "tiny.safetensors", ns=(1, 1))  # another version of the file
    with pytest.raises(AssertionError, match="read again"):
        recorded.model_card(*args)
    hashcache.remember_in(None)
