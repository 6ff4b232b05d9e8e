"""Suite definitions (rsbench.leaderboard.suite): shipped suites load, bad fields are named."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from rsbench.config import task_files
from rsbench.leaderboard import Suite, SuiteError, SuiteWarning, load_suite, parse_suite
from rsbench.leaderboard.suite import suites_dir

SHIPPED = ("classification", "segmentation", "detection", "core", "demo", "label_efficiency")
GOOD = {
    "suite": "s",
    "version": 1,
    "description": "a suite",
    "tasks": ["t1", {"task": "t2", "primary": "miou"}],
    "seeds": [0, 1, 2],
    "min_seeds": 2,
    "baselines": {"t1": {"low": 0.1, "high": 1.0}, "t2": {"low": 0, "high": 1}},
    "aggregate": "iqm",
}


def write(tmp_path: Path, data: dict, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_good_suite_parses(tmp_path):
    suite = parse_suite(GOOD, tmp_path / "s.yaml")
    assert isinstance(suite, Suite)
    assert suite.tasks == ("t1", "t2") and suite.primary == {"t2": "miou"}
    assert suite.seeds == (0, 1, 2) and suite.min_seeds == 2
    assert suite.baselines == {"t1": (0.1, 1.0), "t2": (0.0, 1.0)}
    assert suite.n_boot == 10_000 and suite.aggregate == "iqm"


def test_min_seeds_defaults_to_all_registered_seeds(tmp_path):
    data = {k: v for k, v in GOOD.items() if k != "min_seeds"}
    assert parse_suite(data, tmp_path / "s.yaml").min_seeds == 3


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_suites_load(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SuiteWarning)
        suite = load_suite(name)
    assert suite.name == name and suite.path == suites_dir() / f"{name}.yaml"
    assert set(suite.baselines) == set(suite.tasks)
    assert len(suite.seeds) >= suite.min_seeds


def test_shipped_suites_name_existing_tasks_except_detection():
    known = {p.stem for p in task_files()}
    for name in ("classification", "segmentation", "demo", "label_efficiency"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", SuiteWarning)
            assert set(load_suite(name).tasks) <= known
    assert load_suite("demo").seeds == (0, 1)


def test_unknown_task_names_are_warned_about_not_refused(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.warns(SuiteWarning, match=r"s\.yaml: task\(s\) without a task file yet: t1, t2"):
        suite = load_suite(path)
    assert suite.tasks == ("t1", "t2")


def test_an_unknown_suite_name_lists_the_shipped_ones():
    with pytest.raises(SuiteError, match="unknown suite 'nope'.*classification"):
        load_suite("nope")


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"suite": None}, "suite", "missing"),
        ({"tasks": []}, "tasks", "non-empty list"),
        ({"tasks": ["t1", "t1"]}, r"tasks\[1\]", "listed twice"),
        ({"tasks": ["t1", {"name": "t2"}]}, r"tasks\[1\]", "task: NAME"),
        ({"seeds": [0, 0]}, "seeds", "repeated"),
        ({"seeds": [0, -1]}, r"seeds\[1\]", "integer >= 0"),
        ({"seeds": "0,1"}, "seeds", "list of integers"),
        ({"min_seeds": 4}, "min_seeds", "exceeds the 3 registered seeds"),
        ({"min_seeds": 0}, "min_seeds", "integer >= 1"),
        ({"aggregate": "mean"}, "aggregate", "allowed: iqm"),
        ({"version": "one"}, "version", "integer"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"baselines": {"t1": {"low": 0, "high": 1}}}, "baselines.t2", "low: x, high: y"),
        (
            {"baselines": {"t1": {"low": 1, "high": 0}, "t2": {"low": 0, "high": 1}}},
            "baselines.t1",
            r"low \(1\) must be below high \(0\)",
        ),
        (
            {"baselines": {**GOOD["baselines"], "t9": {"low": 0, "high": 1}}},
            "baselines",
            "not in the suite: t9",
        ),
        (
            {"baselines": {"t1": {"low": "a", "high": 1}, "t2": {"low": 0, "high": 1}}},
            "baselines.t1",
            "must be numbers",
        ),
    ],
)
def test_validation_errors_are_one_line_naming_file_and_field(tmp_path, change, field, why):
    data = {**GOOD, **change}
    data = {k: v for k, v in data.items() if v is not None}
    path = write(tmp_path, data)
    with pytest.raises(SuiteError, match=rf"s\.yaml: field '{field}': .*{why}") as err:
        load_suite(path)
    assert "\n" not in str(err.value)


def test_unreadable_yaml_and_missing_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("suite: [unclosed\n")
    with pytest.raises(SuiteError, match=r"bad\.yaml: not valid YAML"):
        load_suite(bad)
    with pytest.raises(SuiteError, match="suite file not found"):
        load_suite(tmp_path / "absent.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(SuiteError, match="expected a mapping"):
        load_suite(tmp_path / "list.yaml")
