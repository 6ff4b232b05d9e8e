"""Publish a suite leaderboard: Markdown for people, tidy CSVs for programs, an HTML page.

All three are views of one :class:`~rsbench.leaderboard.board.SuiteBoard`, so they can never
disagree. Output is deterministic (no timestamps; seeded bootstrap), so rebuilding from
unchanged records rewrites identical files. Every cell links to its record files by paths
relative to the output folder.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd

from rsbench.errors import InputNotFound
from rsbench.leaderboard.board import CELL_COLUMNS, MODEL_COLUMNS, SuiteBoard, rules, suite_board
from rsbench.leaderboard.html import render_html
from rsbench.leaderboard.suite import Suite
from rsbench.results import RecordError, RecordWarning, ResultStore, atomic_write_text, load_record

MARKDOWN_NAME = "leaderboard.md"
CELLS_CSV_NAME = "cells.csv"
MODELS_CSV_NAME = "aggregate.csv"
HTML_NAME = "index.html"
MARKS = {"ok": "", "short": "◔ ", "failed": "⚠ ", "missing": ""}


def records_with_paths(results_dir: Path) -> tuple[list[dict], dict[str, Path]]:
    """Every valid record under a result store, and record id -> its file.

    Unreadable files are skipped with a :class:`~rsbench.results.RecordWarning`.
    """
    records, paths = [], {}
    for path in ResultStore(results_dir).record_paths():
        try:
            record = load_record(path)
        except RecordError as err:
            warnings.warn(f"{err}; skipped", RecordWarning, stacklevel=2)
            continue
        records.append(record)
        paths[record["record_id"]] = path
    return records, paths


def cells_frame(board: SuiteBoard) -> pd.DataFrame:
    """The tidy per-cell table (:data:`~rsbench.leaderboard.board.CELL_COLUMNS`); ``records``
    joined with ``;``."""
    frame = board.cells[CELL_COLUMNS].copy()
    frame["records"] = frame["records"].map(";".join)
    return frame


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _esc(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _number(x: float, digits: int = 3) -> str:
    return "—" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def _params(x) -> str:
    if x is None or pd.isna(x):
        return "—"
    return f"{x / 1e9:.2f}B" if x >= 1e9 else f"{x / 1e6:.1f}M"


def _model_line(row) -> str:
    rank = "—" if pd.isna(row.rank) else str(int(row.rank))
    ci = f"[{_number(row.ci_low)}, {_number(row.ci_high)}]"
    cover = "" if row.complete else f" partial ({row.n_tasks}/{row.n_suite_tasks} tasks)"
    return (
        f"| {rank} | {_esc(row.model)} | {_params(row.params)} | "
        f"{_number(row.aggregate)} {ci}{cover} |"
    )


def render_markdown(board: SuiteBoard) -> str:
    """The suite leaderboard as Markdown: aggregate table, per-task cells, rules, record links."""
    suite = board.suite
    lines = [f"# {suite.name} leaderboard (suite v{suite.version})", ""]
    if suite.description:
        lines += [suite.description, ""]
    if board.models.empty:
        lines += ["No records found for this suite's tasks.", ""]
    else:
        lines += [
            "## Aggregate (IQM of normalised task scores, 95% CI)",
            "",
            "| # | model | params | IQM [95% CI] |",
            "|--:|:--|--:|:--|",
        ]
        lines += [_model_line(row) for row in board.models.itertuples()] + [""]
        lines += ["## Per task (mean ± std [95% CI], normalised score)", ""]
        lines.append("| model | " + " | ".join(_esc(t) for t in suite.tasks) + " |")
        lines.append("|:--|" + ":--|" * len(suite.tasks))
        for model, cells in board.cells.groupby("model", sort=False):
            shown = [
                f"{MARKS[c.status]}{_esc(c.cell)}"
                + ("" if math.isnan(c.normalised) else f"; norm {c.normalised:.3f}")
                + ("" if c.status == "ok" else f" *{c.status}*")
                for c in cells.itertuples()
            ]
            lines.append(f"| {_esc(model)} | " + " | ".join(shown) + " |")
        lines.append("")
    lines += ["## Rules", ""] + [f"- {r}" for r in rules(suite)] + [f"- {n}." for n in board.notes]
    lines += ["", "## Records", ""]
    for c in board.cells.itertuples():
        if c.records:
            links = ", ".join(
                f"[seed {p['seed']}]({p['record']})"
                for p in (board.provenance[r] for r in c.record_ids)
            )
            lines.append(f"- {_esc(c.model)} / {_esc(c.task)}: {links}")
    return "\n".join(lines) + "\n"


def write_suite_leaderboard(
    suite: Suite, results_dir: Path, out_dir: Path
) -> tuple[SuiteBoard, dict[str, Path]]:
    """Build ``suite``'s leaderboard from a result store and write its files atomically.

    Args:
        suite: from :func:`~rsbench.leaderboard.suite.load_suite`.
        results_dir: root of a :class:`~rsbench.results.ResultStore`.
        out_dir: output folder (created); record links are relative to it.

    Returns:
        The board and ``{"markdown", "cells_csv", "aggregate_csv", "html"}`` paths.

    Raises:
        FileNotFoundError: if ``results_dir`` is not a directory.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    if not results_dir.is_dir():
        raise InputNotFound(f"results directory {results_dir} does not exist")
    records, paths = records_with_paths(results_dir)
    board = suite_board(records, suite, paths, relative_to=out_dir)
    written = {
        "markdown": atomic_write_text(out_dir / MARKDOWN_NAME, render_markdown(board)),
        "cells_csv": atomic_write_text(out_dir / CELLS_CSV_NAME, _csv(cells_frame(board))),
        "aggregate_csv": atomic_write_text(
            out_dir / MODELS_CSV_NAME, _csv(board.models[MODEL_COLUMNS])
        ),
        "html": atomic_write_text(out_dir / HTML_NAME, render_html(board)),
    }
    return board, written
