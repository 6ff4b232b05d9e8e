"""Suite leaderboards end to end: cells, statuses, aggregates, Markdown/CSV/HTML, CLI."""

from __future__ import annotations

import math
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rsbench.cli import main
from rsbench.leaderboard import (
    LeaderboardWarning,
    iqm,
    load_suite,
    normalised,
    parse_suite,
    suite_board,
    write_suite_leaderboard,
)
from rsbench.leaderboard.stats import bootstrap_ci, rng_for
from rsbench.results import ResultStore, new_record

SEEDS = [0, 1, 2]
SUITE = {
    "suite": "toy",
    "version": 2,
    "description": "three toy tasks",
    "tasks": ["t1", "t2", {"task": "t3", "primary": "rmse"}],
    "seeds": SEEDS,
    "min_seeds": 3,
    "baselines": {
        "t1": {"low": 0.1, "high": 1.0},
        "t2": {"low": 0.0, "high": 1.0},
        "t3": {"low": 0.0, "high": 2.0},
    },
    "n_boot": 400,
}
# model -> task -> per-seed values (None: failed)
VALUES = {
    "alpha": {"t1": [0.90, 0.92, 0.94], "t2": [0.50, 0.60, 0.70], "t3": [0.4, 0.5, 0.6]},
    "beta": {"t1": [0.80, 0.82, 0.81], "t2": [0.40, None, 0.45], "t3": [1.0, 1.1, 0.9]},
    "gamma": {"t1": [0.99, 0.98]},
}
PARAMS = {"alpha": 86_000_000, "beta": 300_000_000}


def record(model: str, task: str, seed: int, value: float | None, **extra) -> dict:
    """An ok record (or failed for ``None``) with the provenance fields real runs write."""
    metric, up = ("rmse", False) if task == "t3" else ("accuracy", True)
    report = {"params_total": PARAMS[model], "sha256": "c" * 64} if model in PARAMS else None
    inputs = {"model": {"name": model}, "task": {"name": task, "version": 1}, "seed": seed, **extra}
    return new_record(
        inputs,
        status="ok" if value is not None else "failed",
        task={"name": task, "version": 1, "spec_hash": "t" * 64},
        model={"name": model, "checkpoint_sha256": f"{model}-sha256", "load_report": report},
        protocol={"name": "linear_probe"},
        seed=seed,
        data={"split_hash": f"split-{task}-{seed}", "fingerprint": "fp"},
        metrics={} if value is None else {metric: value},
        primary_metric=metric,
        higher_is_better=up,
        timings={},
        environment={
            "rsbench": "0.1.0",
            "git": {"sha": "abcdef1234567890", "dirty": False},
            "packages": {"torch": "2.4"},
            "device": {"name": "H100"},
            "precision": "bf16-mixed",
            "strategy": "ddp",
            "world_size": 4,
        },
        error={"type": "RuntimeError", "message": "CUDA out of memory"} if value is None else None,
    )


def records_of(values: dict) -> list[dict]:
    return [
        record(m, t, s, v)
        for m, tasks in values.items()
        for t, vs in tasks.items()
        for s, v in enumerate(vs)
    ]


@pytest.fixture
def suite(tmp_path):
    return parse_suite(SUITE, tmp_path / "toy.yaml")


@pytest.fixture
def board(suite):
    return suite_board(records_of(VALUES), suite)


@pytest.fixture
def results(tmp_path):
    store = ResultStore(tmp_path / "results")
    for made in records_of(VALUES):
        store.write(made)
    return store.root


@pytest.fixture
def suite_file(tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(SUITE))
    return path


def cell(board, model: str, task: str) -> pd.Series:
    cells = board.cells
    return cells[(cells["model"] == model) & (cells["task"] == task)].iloc[0]


# --- cells -------------------------------------------------------------------------------------


def test_cell_mean_std_ci_and_normalised(board, suite):
    c = cell(board, "alpha", "t1")
    values = np.array([0.90, 0.92, 0.94])
    assert c["mean"] == pytest.approx(0.92) and c["std"] == pytest.approx(0.02)
    assert (c["ci_low"], c["ci_high"]) == bootstrap_ci(values, 400, rng_for(0, "alpha", "t1"))
    assert c["normalised"] == pytest.approx((0.92 - 0.1) / 0.9)
    assert c["status"] == "ok" and c["in_aggregate"] and (c["n_ok"], c["n_failed"]) == (3, 0)
    assert c["cell"].startswith("92.00 ± 2.00 [") and c["cell"].endswith("(n=3)")
    # Lower is better: rmse 0.5 against [0, 2] is flipped to 0.75.
    assert cell(board, "alpha", "t3")["normalised"] == pytest.approx(0.75)


def test_failed_short_and_missing_cells_are_shown_and_excluded(board):
    failed = cell(board, "beta", "t2")
    assert failed["status"] == "failed" and not failed["in_aggregate"]
    assert (failed["n_ok"], failed["n_failed"]) == (2, 1)
    assert failed["mean"] == pytest.approx(0.425) and "1 failed" in failed["cell"]
    short = cell(board, "gamma", "t1")
    assert short["status"] == "short" and not short["in_aggregate"]
    assert "n=2 of 3, short" in short["cell"]
    missing = cell(board, "gamma", "t2")
    assert missing["status"] == "missing" and missing["cell"] == "not run"
    assert math.isnan(missing["mean"]) and missing["records"] == []


def test_aggregate_is_the_iqm_of_included_cells_only(board):
    models = board.models.set_index("model")
    alpha = [(0.92 - 0.1) / 0.9, 0.6, 0.75]
    assert models.loc["alpha", "aggregate"] == pytest.approx(iqm(alpha))
    beta = [(0.81 - 0.1) / 0.9, (2.0 - 1.0) / 2.0]  # t2 failed: excluded
    assert models.loc["beta", "aggregate"] == pytest.approx(iqm(beta))
    assert models.loc["beta", "n_tasks"] == 2 and not models.loc["beta", "complete"]
    assert models.loc["gamma", "n_tasks"] == 0 and math.isnan(models.loc["gamma", "aggregate"])
    lo, hi = models.loc["alpha", ["ci_low", "ci_high"]]
    assert lo <= models.loc["alpha", "aggregate"] <= hi


def test_only_complete_models_are_ranked(board):
    assert list(board.models["model"]) == ["alpha", "beta", "gamma"]
    assert board.models["rank"].tolist()[0] == 1 and board.models["rank"].isna().tolist() == [
        False,
        True,
        True,
    ]
    assert board.models.set_index("model").loc["alpha", "params"] == 86_000_000
    assert pd.isna(board.models.set_index("model").loc["gamma", "params"])


def test_task_ranks_among_included_cells(board):
    assert (
        cell(board, "alpha", "t1")["task_rank"] == 2 or cell(board, "beta", "t1")["task_rank"] == 2
    )
    assert cell(board, "alpha", "t3")["task_rank"] == 1  # lower rmse
    assert pd.isna(cell(board, "gamma", "t1")["task_rank"])  # short: not ranked


def test_unregistered_seeds_and_other_metrics_are_set_aside(suite):
    extra = [record("alpha", "t1", 7, 0.10), record("alpha", "other_task", 0, 0.5)]
    with pytest.warns(LeaderboardWarning, match=r"seeds outside the registered \[0, 1, 2\]"):
        board = suite_board(records_of(VALUES) + extra, suite)
    assert cell(board, "alpha", "t1")["mean"] == pytest.approx(0.92)
    assert "other_task" not in set(board.cells["task"])
    assert any("seeds outside" in n for n in board.notes)


def test_records_of_a_tile_subset_are_set_aside(suite):
    smoke = record("gamma", "t1", 2, 0.5)
    smoke["data"]["prepared"] = {"variant": "rgb-eroded-6cls", "subset": True}
    with pytest.warns(LeaderboardWarning, match=r"1 record\(s\) set aside: data prepared from a subset"):
        board = suite_board(records_of(VALUES) + [smoke], suite)
    assert cell(board, "gamma", "t1")["n_ok"] == 2  # the two full-data seeds only


def test_a_primary_metric_other_than_the_suites_is_set_aside(tmp_path):
    suite = parse_suite(
        {**SUITE, "tasks": ["t1", {"task": "t2", "primary": "miou"}, "t3"]}, tmp_path / "x.yaml"
    )
    with pytest.warns(LeaderboardWarning, match="primary metric other than the suite's"):
        board = suite_board(records_of(VALUES), suite)
    assert (cell(board, "alpha", "t2")["status"]) == "missing"


def test_comparable_records_raise_no_warning(suite):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeaderboardWarning)
        suite_board(records_of(VALUES), suite)


def test_empty_board(suite, tmp_path):
    board = suite_board([], suite)
    assert board.cells.empty and board.models.empty


# --- files ---------------------------------------------------------------------------------------


class Cells(HTMLParser):
    """Collects the data-* attributes of the HTML table's task and aggregate cells."""

    def __init__(self):
        super().__init__()
        self.cells, self.aggregates, self.details, self.external = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-task" in attrs:
            self.cells.append(attrs)
        if tag == "td" and "data-aggregate" in attrs:
            self.aggregates.append(attrs)
        if tag == "details":
            self.details += 1
        if tag in ("script", "img", "link", "iframe") and ("src" in attrs or "href" in attrs):
            self.external.append((tag, attrs))


def as_float(text: str) -> float:
    return math.nan if text in ("", None) else float(text)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_written_files_and_html_numbers_equal_the_csv(suite, results, tmp_path):
    out = tmp_path / "board"
    board, paths = write_suite_leaderboard(suite, results, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "aggregate.csv",
        "cells.csv",
        "index.html",
        "leaderboard.md",
    ]
    csv = pd.read_csv(paths["cells_csv"], float_precision="round_trip", keep_default_na=False)
    parser = Cells()
    parser.feed(paths["html"].read_text(encoding="utf-8"))
    assert len(parser.cells) == len(csv) == 9
    html = {(c["data-model"], c["data-task"]): c for c in parser.cells}
    for row in csv.itertuples():
        c = html[row.model, row.task]
        for field in ("mean", "std", "ci_low", "ci_high", "normalised"):
            ours = as_float(c[f"data-{field.replace('_', '-')}"])
            theirs = as_float(getattr(row, field))
            assert same(ours, theirs), (row.model, row.task, field, ours, theirs)
        assert (int(c["data-n-ok"]), int(c["data-n-failed"])) == (row.n_ok, row.n_failed)
        assert c["data-status"] == row.status
    agg = pd.read_csv(paths["aggregate_csv"], float_precision="round_trip")
    assert [a["data-aggregate"] for a in parser.aggregates] == [
        "" if math.isnan(x) else repr(x) for x in agg["aggregate"]
    ]
    assert parser.details == 7  # one per cell with records (gamma/t2 and gamma/t3 have none)
    assert parser.external == []


def test_html_is_self_contained_with_plots_and_provenance(suite, results, tmp_path):
    _, paths = write_suite_leaderboard(suite, results, tmp_path / "board")
    page = paths["html"].read_text(encoding="utf-8")
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<style>" in page and "<script>" in page and "sortBy" in page
    assert page.count("<svg") == 3 + 1  # one bar chart per task with results, one scaling plot
    assert "id=scaling" in page and ">alpha</text>" in page
    assert "alpha-sha256" in page and "split-t1-0" in page and "abcdef123456" in page
    assert "CUDA out of memory" in page and "H100" in page


def test_no_scaling_plot_without_parameter_counts(tmp_path):
    suite = parse_suite({**SUITE, "min_seeds": 1}, tmp_path / "x.yaml")
    store = ResultStore(tmp_path / "r")
    store.write(record("gamma", "t1", 0, 0.5))
    _, paths = write_suite_leaderboard(suite, store.root, tmp_path / "out")
    assert "so no scaling plot" in paths["html"].read_text()


def test_every_cell_links_to_its_record_files(suite, results, tmp_path):
    out = tmp_path / "board"
    board, paths = write_suite_leaderboard(suite, results, out)
    csv = pd.read_csv(paths["cells_csv"], keep_default_na=False)
    beta_t2 = csv[(csv["model"] == "beta") & (csv["task"] == "t2")].iloc[0]
    links = beta_t2["records"].split(";")
    assert len(links) == 3 and all(not Path(p).is_absolute() for p in links)
    assert all((out / p).resolve().is_file() for p in links)
    markdown = paths["markdown"].read_text()
    assert f"[seed 1]({links[1]})" in markdown


def test_markdown_shows_statuses_aggregate_and_rules(suite, results, tmp_path):
    _, paths = write_suite_leaderboard(suite, results, tmp_path / "board")
    text = paths["markdown"].read_text()
    assert text.startswith("# toy leaderboard (suite v2)")
    assert "| 1 | alpha | 86.0M |" in text
    assert "| — | beta | 300.0M |" in text and "partial (2/3 tasks)" in text
    assert "⚠ " in text and "*failed*" in text and "*short*" in text and "*missing*" in text
    assert "interquartile mean" in text and "fewer than 3 ok seeds" in text


def test_builds_are_deterministic(suite, results, tmp_path):
    _, first = write_suite_leaderboard(suite, results, tmp_path / "a")
    _, second = write_suite_leaderboard(suite, results, tmp_path / "b")
    for kind in first:
        assert first[kind].read_bytes() == second[kind].read_bytes()


def test_missing_results_directory_is_refused(suite, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_suite_leaderboard(suite, tmp_path / "nope", tmp_path / "out")


# --- command line --------------------------------------------------------------------------------


def test_cli_build_round_trip(suite_file, results, tmp_path, capsys):
    out = tmp_path / "board"
    argv = [
        "leaderboard",
        "build",
        "--suite",
        str(suite_file),
        "--results",
        str(results),
        "--out",
        str(out),
        "--n-boot",
        "200",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "# toy leaderboard" in printed.out and "interquartile mean" in printed.out
    assert "index.html" in printed.err
    csv = pd.read_csv(out / "cells.csv", keep_default_na=False)
    board = suite_board(records_of(VALUES), load_suite(suite_file))
    assert list(csv["status"]) == list(board.cells["status"])
    assert float(csv.loc[0, "mean"]) == pytest.approx(board.cells.loc[0, "mean"])
    assert "200 resamples" in (out / "leaderboard.md").read_text()


def test_cli_suite_flag_without_build_and_errors(suite_file, results, tmp_path, capsys):
    assert (
        main(
            [
                "leaderboard",
                "--suite",
                str(suite_file),
                "--results",
                str(results),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    assert (tmp_path / "o" / "index.html").exists()
    capsys.readouterr()
    assert main(["leaderboard", "build", "--results", str(results), "--out", str(tmp_path)]) == 2
    assert "--suite is required" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**SUITE, "seeds": []}))
    assert (
        main(
            [
                "leaderboard",
                "build",
                "--suite",
                str(bad),
                "--results",
                str(results),
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "bad.yaml: field 'seeds'" in capsys.readouterr().err


def test_normalised_column_matches_the_formula(board):
    for c in board.cells.itertuples():
        if c.n_ok:
            low, high = SUITE["baselines"][c.task]["low"], SUITE["baselines"][c.task]["high"]
            assert c.normalised == pytest.approx(normalised(c.mean, low, high, c.higher_is_better))
