"""Leaderboards from run records: aggregate seeds per model x task, render Markdown and CSV.

Computed only from records (see docs/ARCHITECTURE.md "Records and leaderboards"): :func:`leaderboard_table` groups
them, :func:`render_markdown` and :func:`render_csv` show the table, and
:func:`write_leaderboard` does both from a result store's directory. Failed seeds are shown,
never dropped and never averaged in; records that are not comparable (older task versions,
superseded re-runs) are set aside with a :class:`LeaderboardWarning`.

Suite leaderboards (``leaderboards/<suite>.yaml``, :func:`load_suite`) add pre-registered
seeds, bootstrap CIs, min-max normalised scores and an IQM aggregate (:func:`suite_board`),
published as Markdown, CSV and a self-contained HTML page (:func:`write_suite_leaderboard`).
"""

from rsbench.leaderboard.board import SuiteBoard, provenance, rules, suite_board
from rsbench.leaderboard.frame import LeaderboardWarning, records_frame, usable_rows
from rsbench.leaderboard.html import render_html
from rsbench.leaderboard.publish import (
    CELLS_CSV_NAME,
    HTML_NAME,
    MODELS_CSV_NAME,
    cells_frame,
    records_with_paths,
    write_suite_leaderboard,
)
from rsbench.leaderboard.publish import render_markdown as render_suite_markdown
from rsbench.leaderboard.render import (
    CSV_COLUMNS,
    CSV_NAME,
    MARKDOWN_NAME,
    render_csv,
    render_markdown,
    tidy_frame,
    write_leaderboard,
    write_tables,
)
from rsbench.leaderboard.stats import aggregate_ci, bootstrap_ci, iqm, normalised
from rsbench.leaderboard.suite import Suite, SuiteError, SuiteWarning, load_suite, parse_suite
from rsbench.leaderboard.table import FIELDS, leaderboard_table

__all__ = [
    "CELLS_CSV_NAME",
    "HTML_NAME",
    "MODELS_CSV_NAME",
    "Suite",
    "SuiteBoard",
    "SuiteError",
    "SuiteWarning",
    "aggregate_ci",
    "bootstrap_ci",
    "cells_frame",
    "iqm",
    "load_suite",
    "normalised",
    "parse_suite",
    "provenance",
    "records_with_paths",
    "render_html",
    "render_suite_markdown",
    "rules",
    "suite_board",
    "write_suite_leaderboard",
    "CSV_COLUMNS",
    "CSV_NAME",
    "FIELDS",
    "MARKDOWN_NAME",
    "LeaderboardWarning",
    "leaderboard_table",
    "records_frame",
    "render_csv",
    "render_markdown",
    "tidy_frame",
    "usable_rows",
    "write_leaderboard",
    "write_tables",
]
