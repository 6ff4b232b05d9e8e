"""Run records, the result store, atomic writes and provenance (rsbench.results)."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import subprocess

import pytest

from rsbench.results import (
    RecordError,
    RecordWarning,
    ResultStore,
    atomic_write_text,
    environment,
    failure_info,
    git_revision,
    load_record,
    new_record,
    record_id,
)

N_PROCESSES = 50
RECORDS_PER_PROCESS = 2


def make_inputs(model: str = "vit_b", task: str = "eurosat_lp", seed: int = 0, **extra) -> dict:
    return {
        "model": {"name": model, "arch": "vit_base_patch16", "checkpoint_sha256": "ab" * 32},
        "task": {"name": task, "version": 1, "spec_hash": "cd" * 8},
        "seed": seed,
        "protocol_overrides": {},
        "precision": "32-true",
        **extra,
    }


def make_record(inputs: dict | None = None, value: float | None = 0.9, **fields) -> dict:
    """An ok record (``value`` given) or a failed one (``value=None``) for ``inputs``."""
    inputs = inputs or make_inputs()
    failed = value is None
    args = {
        "status": "failed" if failed else "ok",
        "task": dict(inputs["task"]),
        "model": dict(inputs["model"]),
        "protocol": {"name": "linear_probe", "hparams": {"lr": 0.1}},
        "seed": inputs["seed"],
        "data": {"split_sha256": "ef" * 32},
        "metrics": {} if failed else {"loss": 0.3, "accuracy": value},
        "primary_metric": "accuracy",
        "higher_is_better": True,
        "timings": {"total_s": 1.5},
        "environment": {"rsbench": "test"},
        "error": {"type": "RuntimeError", "message": "CUDA out of memory"} if failed else None,
    }
    return new_record(inputs, **{**args, **fields})


# --- record ids and validation --------------------------------------------------------------


def test_record_id_is_stable_under_key_order():
    inputs = make_inputs(protocol_overrides={"protocol": {"epochs": 3, "lr": 0.1}})
    reordered = json.loads(json.dumps(dict(reversed(list(inputs.items())))))
    reordered["protocol_overrides"]["protocol"] = {"lr": 0.1, "epochs": 3}
    assert record_id(reordered) == record_id(inputs)
    assert len(record_id(inputs)) == 16


@pytest.mark.parametrize(
    "change",
    [
        {"model": {"name": "vit_l"}},
        {"task": {"version": 2}},
        {"task": {"spec_hash": "00" * 8}},
        {"seed": 1},
        {"precision": "bf16-mixed"},
        {"protocol_overrides": {"protocol": {"epochs": 4}}},
    ],
)
def test_record_id_changes_with_any_input(change):
    inputs = make_inputs()
    changed = json.loads(json.dumps(inputs))
    for key, value in change.items():
        changed[key] = {**changed[key], **value} if isinstance(value, dict) else value
    assert record_id(changed) != record_id(inputs)


def test_new_record_puts_primary_metric_first_and_stores_plain_json():
    record = make_record()
    assert list(record["metrics"]) == ["accuracy", "loss"]
    assert record["record_id"] == record_id(make_inputs())
    assert json.loads(json.dumps(record, allow_nan=False)) == record


def test_ok_record_without_primary_metric_is_refused():
    with pytest.raises(RecordError, match="primary metric 'accuracy'"):
        make_record(metrics={"loss": 0.3})


@pytest.mark.parametrize("bad", [math.nan, math.inf, None, "0.9", True])
def test_ok_record_with_non_finite_or_non_numeric_primary_is_refused(bad):
    with pytest.raises(RecordError, match="primary metric"):
        make_record(metrics={"accuracy": bad})


def test_failed_record_without_error_is_refused():
    with pytest.raises(RecordError, match="error"):
        make_record(value=None, error=None)


def test_failed_record_keeps_failure_info():
    try:
        raise RuntimeError("out of\nmemory")
    except RuntimeError as exc:
        error = failure_info(exc)
    assert error["type"] == "RuntimeError" and error["message"] == "out of memory"
    assert "Traceback" in error["traceback"]
    record = make_record(value=None, error=error)
    assert record["status"] == "failed" and record["error"] == error


def test_seed_and_names_must_match_inputs():
    with pytest.raises(RecordError, match="seed"):
        make_record(seed=7)
    with pytest.raises(RecordError, match="model.name"):
        make_record(model={"name": "other"})


def test_non_string_keys_in_inputs_are_refused():
    # They would not survive the JSON round trip, so the stored record could never re-hash.
    with pytest.raises(RecordError, match="not a string"):
        make_record(make_inputs(protocol_overrides={10: 1, 9: 2}))


def test_edited_record_file_is_refused(tmp_path):
    path = ResultStore(tmp_path).write(make_record())
    data = json.loads(path.read_text())
    data["inputs"]["seed"] = 5
    data["seed"] = 5
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match="record_id"):
        load_record(path)


# --- the store --------------------------------------------------------------------------------


def test_store_round_trip(tmp_path):
    store = ResultStore(tmp_path / "results")
    assert store.records() == [] and store.get(make_inputs()) is None
    ok, failed = make_record(make_inputs(seed=0)), make_record(make_inputs(seed=1), value=None)
    path = store.write(ok)
    store.write(failed)
    assert path == store.path_for(make_inputs(seed=0)) and path.name.endswith(".json")
    assert store.get(make_inputs(seed=0)) == ok
    assert store.records() == [ok, failed]
    assert store.done(make_inputs(seed=0)) and store.done(make_inputs(seed=0), retry_failed=True)
    assert store.done(make_inputs(seed=1))
    assert not store.done(make_inputs(seed=1), retry_failed=True)
    assert not store.done(make_inputs(seed=2))


def test_rewrite_replaces_the_record(tmp_path):
    store = ResultStore(tmp_path)
    store.write(make_record(value=None))
    store.write(make_record(value=0.95))
    assert [r["status"] for r in store.records()] == ["ok"]


def test_corrupt_and_partial_files_are_skipped_with_a_warning(tmp_path):
    store = ResultStore(tmp_path)
    good = make_record()
    path = store.write(good)
    text = path.read_text()
    (path.parent / "seed1-partial.json").write_text(text[: len(text) // 2])
    (path.parent / "seed2-empty.json").write_text("")
    (path.parent / "seed3-list.json").write_text("[1, 2]")
    with pytest.warns(RecordWarning) as caught:
        records = store.records()
    assert records == [good]
    warned = " ".join(str(w.message) for w in caught)
    assert all(name in warned for name in ("seed1-partial", "seed2-empty", "seed3-list"))


def test_misplaced_record_is_not_returned_by_get(tmp_path):
    store = ResultStore(tmp_path)
    other = store.write(make_record(make_inputs(seed=1)))
    shutil.copy(other, store.path_for(make_inputs(seed=0)))
    with pytest.warns(RecordWarning, match="treated as absent"):
        assert store.get(make_inputs(seed=0)) is None


def test_write_refuses_records_that_are_not_strict_json(tmp_path):
    record = make_record()
    record["timings"]["total_s"] = math.nan
    with pytest.raises(RecordError, match="strict JSON"):
        ResultStore(tmp_path).write(record)
    assert list(tmp_path.rglob("*")) == []


# --- atomic writes ----------------------------------------------------------------------------


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a" / "b.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["b.json"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "record.json"
    atomic_write_text(target, "old")

    def boom(*args, **kwargs):
        raise OSError(f"simulated {failing} failure")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def _write_many(root: str, worker: int, barrier) -> None:
    # Runs in a child process: wait for every sibling, then write at once.
    barrier.wait()
    store = ResultStore(root)
    for k in range(RECORDS_PER_PROCESS):
        inputs = make_inputs(model=f"m{worker % 5}", task=f"t{k % 2}", seed=worker * 100 + k)
        store.write(make_record(inputs, value=worker / 100))


def test_concurrent_writers_lose_nothing(tmp_path):
    # forkserver, not fork: the test process may hold torch's threads, which fork does not
    # copy safely. Preloading this module in the server makes each child a cheap fork of a
    # clean, single-threaded process instead of a fresh interpreter re-importing everything.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    barrier = ctx.Barrier(N_PROCESSES)
    procs = [
        ctx.Process(target=_write_many, args=(str(tmp_path), i, barrier))
        for i in range(N_PROCESSES)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0] * N_PROCESSES
    records = ResultStore(tmp_path).records()
    assert len(records) == N_PROCESSES * RECORDS_PER_PROCESS
    assert len({r["record_id"] for r in records}) == len(records)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == len(records) and all(p.suffix == ".json" for p in files)


# --- provenance -------------------------------------------------------------------------------


def test_environment_records_versions_and_git():
    env = environment("32-true", "auto", 1, 1, "cpu")
    assert env["packages"]["torch"] and env["packages"]["lightning"]
    assert env["device"]["kind"] == "cpu" and env["precision"] == "32-true"
    assert "git" in env and "rsbench" in env
    if env["git"] is not None:
        assert set(env["git"]) == {"sha", "dirty"} and len(env["git"]["sha"]) == 40
    json.dumps(env, allow_nan=False)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_revision_of_a_checkout(tmp_path):
    assert git_revision(tmp_path) is None  # not a checkout

    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a")
    git("add", "f.txt")
    git("commit", "-qm", "init")
    clean = git_revision(tmp_path)
    assert clean is not None and not clean["dirty"] and len(clean["sha"]) == 40
    (tmp_path / "untracked.txt").write_text("results")
    assert not git_revision(tmp_path)["dirty"]
    (tmp_path / "f.txt").write_text("b")
    assert git_revision(tmp_path)["dirty"]
    (tmp_path / "sub").mkdir()
    assert git_revision(tmp_path / "sub") is None  # inside a checkout, but not its top level
