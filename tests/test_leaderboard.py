"""Leaderboard aggregation and rendering (rsbench.leaderboard), from hand-built records."""

from __future__ import annotations

import math
import statistics
import warnings

import pandas as pd
import pytest

from rsbench.cli import main
from rsbench.leaderboard import (
    CSV_COLUMNS,
    LeaderboardWarning,
    leaderboard_table,
    render_markdown,
    tidy_frame,
    write_leaderboard,
)
from rsbench.results import ResultStore, new_record

# model -> task -> one value per seed (None: that seed failed)
VALUES = {
    "alpha": {"eurosat": [0.90, 0.92, 0.94], "ucmerced": [0.80, 0.82, 0.84]},
    "beta": {"eurosat": [0.85, 0.86, None], "ucmerced": [None, None, None]},
}


def record(
    model: str,
    task: str,
    seed: int,
    value: float | None,
    *,
    version: int = 1,
    metric: str = "accuracy",
    higher_is_better: bool = True,
    created: str | None = None,
    **extra_inputs,
) -> dict:
    """An ok record holding ``value`` as its primary metric, or a failed one for ``None``."""
    inputs = {
        "model": {"name": model},
        "task": {"name": task, "version": version},
        "seed": seed,
        **extra_inputs,
    }
    failed = value is None
    made = new_record(
        inputs,
        status="failed" if failed else "ok",
        task={"name": task, "version": version},
        model={"name": model},
        protocol={"name": "linear_probe"},
        seed=seed,
        data={},
        metrics={} if failed else {metric: value},
        primary_metric=metric,
        higher_is_better=higher_is_better,
        timings={},
        environment={},
        error={"type": "RuntimeError", "message": "out of memory"} if failed else None,
    )
    if created:
        made["created"] = created  # not hashed, so the record stays valid
    return made


def records_of(values: dict) -> list[dict]:
    return [
        record(model, task, seed, value)
        for model, tasks in values.items()
        for task, seeds in tasks.items()
        for seed, value in enumerate(seeds)
    ]


@pytest.fixture
def table() -> pd.DataFrame:
    return leaderboard_table(records_of(VALUES))


@pytest.fixture
def results(tmp_path):
    store = ResultStore(tmp_path / "results")
    for made in records_of(VALUES):
        store.write(made)
    return store.root


# --- aggregation ------------------------------------------------------------------------------


def test_mean_and_sample_std_over_seeds(table):
    cell = table.loc["alpha", "eurosat"]
    assert cell["mean"] == pytest.approx(statistics.mean([0.90, 0.92, 0.94]))
    assert cell["std"] == pytest.approx(statistics.stdev([0.90, 0.92, 0.94]))  # ddof=1
    assert cell["std"] == pytest.approx(0.02)
    assert (cell["n_ok"], cell["n_failed"]) == (3, 0)
    assert cell["cell"] == "92.00 ± 2.00 (n=3)"
    assert table.loc["alpha", ("ucmerced", "cell")] == "82.00 ± 2.00 (n=3)"


def test_failed_seed_is_shown_and_not_averaged(table):
    cell = table.loc["beta", "eurosat"]
    assert cell["mean"] == pytest.approx(0.855)
    assert cell["std"] == pytest.approx(statistics.stdev([0.85, 0.86]))
    assert (cell["n_ok"], cell["n_failed"]) == (2, 1)
    assert cell["cell"] == "85.50 ± 0.71 (n=2, 1 failed)"


def test_all_seeds_failed(table):
    cell = table.loc["beta", "ucmerced"]
    assert cell["cell"] == "failed (3/3)"
    assert math.isnan(cell["mean"]) and (cell["n_ok"], cell["n_failed"]) == (0, 3)


def test_missing_pair_is_not_run():
    values = {"alpha": VALUES["alpha"], "gamma": {"eurosat": [0.5]}}
    table = leaderboard_table(records_of(values))
    assert table.loc["gamma", ("ucmerced", "cell")] == "not run"
    assert table.loc["gamma", ("eurosat", "cell")] == "50.00 ± — (n=1)"


def test_models_are_ordered_best_first(table):
    assert list(table.index) == ["alpha", "beta"]
    reverse = {"alpha": VALUES["beta"], "beta": VALUES["alpha"]}
    assert list(leaderboard_table(records_of(reverse)).index) == ["beta", "alpha"]


def test_lower_is_better_orders_the_other_way():
    made = [
        record("low", "seg", 0, 0.2, metric="loss", higher_is_better=False),
        record("high", "seg", 0, 0.5, metric="loss", higher_is_better=False),
    ]
    table = leaderboard_table(made)
    assert list(table.index) == ["low", "high"]
    assert table.loc["low", ("seg", "cell")] == "0.2000 ± — (n=1)"  # not a score: unscaled
    assert "(loss ↓)" in render_markdown(table)


def test_skipping_or_failing_a_task_does_not_lift_a_model():
    # "narrow" is best on the one task it ran; "broad" ran all three and is second there.
    values = {
        "narrow": {"t1": [0.99], "t2": [None]},
        "broad": {"t1": [0.90], "t2": [0.50], "t3": [0.50]},
    }
    assert list(leaderboard_table(records_of(values)).index) == ["broad", "narrow"]


def test_values_recorded_in_percent_are_not_scaled_again():
    table = leaderboard_table(records_of({"m": {"t": [91.5, 92.5]}}))
    assert table.loc["m", ("t", "cell")] == "92.00 ± 0.71 (n=2)"
    assert table.attrs["tasks"]["t"]["scale"] == 1.0


def test_older_task_versions_are_set_aside_with_a_warning():
    made = records_of(VALUES) + [record("alpha", "eurosat", 0, 0.10, version=0)]
    with pytest.warns(LeaderboardWarning, match="older task version"):
        table = leaderboard_table(made)
    assert table.loc["alpha", ("eurosat", "cell")] == "92.00 ± 2.00 (n=3)"
    assert (table.attrs["n_records"], table.attrs["n_used"]) == (len(made), len(made) - 1)


def test_a_superseded_rerun_of_a_seed_is_set_aside_with_a_warning():
    old = record("m", "t", 0, 0.10, created="2024-01-01T00:00:00+00:00")
    # Different inputs (one more key), so a second file for the same (model, task, seed).
    new = record("m", "t", 0, 0.90, created="2025-01-01T00:00:00+00:00", protocol_overrides={})
    with pytest.warns(LeaderboardWarning, match="newer record"):
        table = leaderboard_table([new, old])
    assert table.loc["m", ("t", "mean")] == pytest.approx(0.90)


def test_comparable_records_raise_no_warning(table):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeaderboardWarning)
        leaderboard_table(records_of(VALUES))


# --- rendering --------------------------------------------------------------------------------


def test_markdown_shows_cells_marks_failures_and_states_the_rules(table):
    text = render_markdown(table, title="My board")
    lines = text.splitlines()
    assert lines[0] == "# My board"
    header = next(line for line in lines if line.startswith("| #"))
    assert "eurosat (accuracy, % ↑)" in header and "ucmerced (accuracy, % ↑)" in header
    alpha = next(line for line in lines if "| alpha |" in line)
    beta = next(line for line in lines if "| beta |" in line)
    assert lines.index(alpha) < lines.index(beta)
    assert "92.00 ± 2.00 (n=3)" in alpha
    assert "⚠ 85.50 ± 0.71 (n=2, 1 failed)" in beta and "⚠ **failed (3/3)**" in beta
    assert "never averaged" in text and "12 used of 12" in text


def test_markdown_escapes_pipes_in_names():
    text = render_markdown(leaderboard_table(records_of({"a|b": {"t": [0.5]}})))
    assert "| a\\|b |" in text


def test_empty_leaderboard_renders():
    table = leaderboard_table([])
    assert "No records found." in render_markdown(table)
    assert list(tidy_frame(table).columns) == CSV_COLUMNS and tidy_frame(table).empty


def test_tidy_frame_has_one_row_per_model_and_task(table):
    tidy = tidy_frame(table)
    assert list(tidy.columns) == CSV_COLUMNS and len(tidy) == 4
    assert list(tidy["model"]) == ["alpha", "alpha", "beta", "beta"]
    assert list(tidy["rank"]) == [1, 1, 2, 2]
    row = tidy[(tidy["model"] == "alpha") & (tidy["task"] == "eurosat")].iloc[0]
    assert row["mean"] == pytest.approx(0.92)  # record units, not percent


# --- files and the command line ---------------------------------------------------------------


def test_write_leaderboard_writes_markdown_and_csv(results, tmp_path):
    out = tmp_path / "board"
    paths = write_leaderboard(results, out, title="Test board")
    assert paths == {"markdown": out / "leaderboard.md", "csv": out / "leaderboard.csv"}
    assert sorted(p.name for p in out.iterdir()) == ["leaderboard.csv", "leaderboard.md"]
    assert paths["markdown"].read_text().startswith("# Test board")

    table = leaderboard_table(ResultStore(results).records())
    csv = pd.read_csv(paths["csv"], float_precision="round_trip")
    assert list(csv.columns) == CSV_COLUMNS
    for row in csv.itertuples():
        cell = table.loc[row.model, row.task]
        assert row.cell == cell["cell"]
        assert (row.n_ok, row.n_failed) == (cell["n_ok"], cell["n_failed"])
        for field in ("mean", "std"):
            ours, theirs = getattr(row, field), cell[field]
            assert (math.isnan(ours) and math.isnan(theirs)) or ours == theirs


def test_write_leaderboard_is_deterministic(results, tmp_path):
    first = write_leaderboard(results, tmp_path / "a")
    second = write_leaderboard(results, tmp_path / "b")
    for kind in first:
        assert first[kind].read_bytes() == second[kind].read_bytes()


def test_write_leaderboard_refuses_a_missing_results_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_leaderboard(tmp_path / "nope", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_leaderboard(results, tmp_path, capsys):
    out = tmp_path / "board"
    assert main(["leaderboard", "--results", str(results), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "92.00 ± 2.00 (n=3)" in printed.out and "| alpha |" in printed.out
    assert "leaderboard.csv" in printed.err
    assert (out / "leaderboard.md").exists() and (out / "leaderboard.csv").exists()


def test_cli_leaderboard_with_missing_results_fails_cleanly(tmp_path, capsys):
    assert main(["leaderboard", "--results", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
