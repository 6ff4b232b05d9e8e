"""Leaderboards from run records: aggregate seeds per model x task, render Markdown and CSV.

Computed only from records (see DESIGN.md "Leaderboard"): :func:`leaderboard_table` groups
them, :func:`render_markdown` and :func:`render_csv` show the table, and
:func:`write_leaderboard` does both from a result store's directory. Failed seeds are shown,
never dropped and never averaged in; records that are not comparable (older task versions,
superseded re-runs) are set aside with a :class:`LeaderboardWarning`.
"""

from rsbench.leaderboard.frame import LeaderboardWarning, records_frame, usable_rows
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
from rsbench.leaderboard.table import FIELDS, leaderboard_table

__all__ = [
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
