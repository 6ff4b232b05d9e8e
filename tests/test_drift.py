"""``rsbench drift``: two suite builds compared cell by cell, with the provenance that moved."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from rsbench.cli import main
from rsbench.leaderboard import parse_suite, write_suite_leaderboard
from rsbench.leaderboard.drift import compare_builds, drift_reason
from rsbench.results import ResultStore, new_record

SUITE = {
    "suite": "toy",
    "version": 1,
    "tasks": ["t1", "t2"],
    "seeds": [0, 1, 2],
    "min_seeds": 3,
    "n_boot": 200,
    "baselines": {"t1": {"low": 0.0, "high": 1.0}, "t2": {"low": 0.0, "high": 1.0}},
}
OLD = {"t1": [0.90, 0.91, 0.92], "t2": [0.50, 0.55, 0.60]}


def record(task: str, seed: int, value: float, split: str = "split-a", sha: str = "aaaa") -> dict:
    return new_record(
        {
            "model": {"name": "alpha"},
            "task": {"name": task, "version": 1},
            "seed": seed,
            "split": split,
        },
        status="ok",
        task={"name": task, "version": 1, "spec_hash": "t" * 64},
        model={"name": "alpha", "checkpoint_sha256": "c" * 64},
        protocol={"name": "knn"},
        seed=seed,
        data={"split_hash": split, "fingerprint": "fp"},
        metrics={"accuracy": value},
        primary_metric="accuracy",
        higher_is_better=True,
        timings={},
        environment={
            "rsbench": "0.1.0",
            "git": {"sha": sha * 10, "dirty": False},
            "packages": {"torch": "2.4"},
            "device": {"kind": "cpu", "name": "EPYC"},
            "precision": "32-true",
        },
    )


def build(tmp_path: Path, name: str, values: dict, **provenance) -> Path:
    store = ResultStore(tmp_path / name / "results")
    for task, per_seed in values.items():
        for seed, value in enumerate(per_seed):
            store.write(record(task, seed, value, **provenance.get(task, {})))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the toy tasks have no task files
        suite = parse_suite(SUITE, tmp_path / "toy.yaml")
        write_suite_leaderboard(suite, store.root, tmp_path / name / "board")
    return tmp_path / name / "board"


def test_identical_builds_report_nothing(tmp_path, capsys):
    old, new = build(tmp_path, "old", OLD), build(tmp_path, "new", OLD)
    assert main(["drift", "--old", str(old), "--new", str(new)]) == 0
    assert "No cell drifted." in capsys.readouterr().out
    report = compare_builds(old / "cells.csv", new)
    assert report.compared == 2 and not report.drifted and not report.any


def test_moved_cell_is_flagged_with_the_provenance_that_changed(tmp_path, capsys):
    old = build(tmp_path, "old", OLD)
    moved = {"t1": [0.70, 0.71, 0.72], "t2": OLD["t2"]}
    new = build(tmp_path, "new", moved, t1={"split": "split-b", "sha": "bbbb"})
    assert main(["drift", "--old", str(old), "--new", str(new), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (cell,) = report["drifted"]
    assert (cell["model"], cell["task"], cell["metric"]) == ("alpha", "t1", "accuracy")
    assert cell["reason"] == "new mean outside old CI"
    assert cell["old"]["mean"] == pytest.approx(0.91) and cell["new"]["mean"] == pytest.approx(0.71)
    assert set(cell["provenance"]) == {"split_hash", "code_version"}
    assert cell["provenance"]["split_hash"] == {"old": ["split-a"], "new": ["split-b"]}
    assert main(["drift", "--old", str(old), "--new", str(new)]) == 1
    markdown = capsys.readouterr().out
    assert "| alpha | t1 | accuracy |" in markdown and "split_hash: split-a → split-b" in markdown


def test_moved_cell_with_identical_provenance_is_unexplained(tmp_path, capsys):
    old = build(tmp_path, "old", OLD)
    new = build(tmp_path, "new", {"t1": OLD["t1"], "t2": [0.10, 0.12, 0.11]})
    assert main(["drift", "--old", str(old), "--new", str(new)]) == 1
    assert "none (unexplained)" in capsys.readouterr().out


def test_drift_reasons():
    cell = {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6, "status": "ok"}
    assert drift_reason(cell, {**cell, "mean": 0.55}) is None
    assert drift_reason(cell, {**cell, "mean": 0.7, "ci_low": 0.65, "ci_high": 0.75})
    assert (
        drift_reason(cell, {**cell, "ci_low": 0.1, "ci_high": 0.9, "mean": 0.1})
        == "new mean outside old CI"
    )
    assert drift_reason(cell, {**cell, "status": "failed"}) == "status ok → failed"


def test_missing_build_is_unusable(tmp_path, capsys):
    assert main(["drift", "--old", str(tmp_path), "--new", str(tmp_path)]) == 2
    assert "cells.csv" in capsys.readouterr().err
