"""Leaderboard renderers: a Markdown table for people, a tidy CSV for programs.

Both are views of one :func:`~rsbench.leaderboard.table.leaderboard_table`, so they can never
disagree. The Markdown shows each cell's text (percent-scaled where the table's rule says so)
and marks every cell with a failed seed; the CSV holds one row per model x task with the raw
numbers in the units the records hold, so nothing has to be parsed back out of a string.
Output is deterministic (no timestamps): rebuilding from unchanged records rewrites identical
files, so a published leaderboard only changes when its results do.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rsbench.errors import InputNotFound
from rsbench.leaderboard.table import leaderboard_table
from rsbench.results import ResultStore, atomic_write_text

DEFAULT_TITLE = "rsbench leaderboard"
MARKDOWN_NAME = "leaderboard.md"
CSV_NAME = "leaderboard.csv"
FAILED_MARK = "⚠"
CSV_COLUMNS = [
    "rank",
    "model",
    "task",
    "metric",
    "higher_is_better",
    "mean",
    "std",
    "n_ok",
    "n_failed",
    "cell",
]
RULES = (
    "Cells: mean ± sample std (ddof=1) of the primary metric over the ok seeds (n = ok seeds); "
    "% marks fractions shown in percent.",
    f"Failed seeds are always shown ({FAILED_MARK}) and never averaged in; "
    "*not run* means no record.",
    "Rows: best first by mean rank over tasks; a task not run or failed counts as last place.",
)


def _escaped(text: object) -> str:
    # A "|" in a model name would split the row; a newline would end the table.
    return " ".join(str(text).split()).replace("|", "\\|")


def _task_header(task: str, rule: dict) -> str:
    unit = ", %" if rule["scale"] == 100 else ""
    arrow = "↑" if rule["higher_is_better"] else "↓"
    return f"{_escaped(task)} ({_escaped(rule['metric'])}{unit} {arrow})"


def _shown_cell(cell: str, n_ok: int, n_failed: int) -> str:
    if n_failed and not n_ok:
        return f"{FAILED_MARK} **{_escaped(cell)}**"
    if n_failed:
        return f"{FAILED_MARK} {_escaped(cell)}"
    if not n_ok:
        return f"*{_escaped(cell)}*"
    return _escaped(cell)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _footer(table: pd.DataFrame) -> list[str]:
    given = table.attrs.get("n_records", 0)
    used = table.attrs.get("n_used", 0)
    aside = given - used
    counts = f"Records: {used} used of {given}"
    if aside:
        counts += (
            f"; {aside} set aside (older task version, superseded re-run "
            "or a primary metric other than the task's)"
        )
    return [*RULES, counts + "."]


def render_markdown(table: pd.DataFrame, title: str | None = DEFAULT_TITLE) -> str:
    """The leaderboard as a Markdown document.

    Args:
        table: the output of :func:`~rsbench.leaderboard.table.leaderboard_table`.
        title: a level-one heading; ``None`` for the table and footer alone.

    Returns:
        The heading, one row per model (best first) with one column per task showing the cell
        text, and a footer stating the aggregation rules and how many records were used.
    """
    lines = [f"# {title}", ""] if title else []
    rules = table.attrs.get("tasks", {})
    if table.empty:
        lines.append("No records found.")
    else:
        tasks = list(rules)
        lines.append(_row(["#", "model", *(_task_header(t, rules[t]) for t in tasks)]))
        lines.append(_row(["--:", ":--", *(":--" for _ in tasks)]))
        for rank, (model, row) in enumerate(table.iterrows(), start=1):
            shown = [_shown_cell(row[t, "cell"], row[t, "n_ok"], row[t, "n_failed"]) for t in tasks]
            lines.append(_row([str(rank), _escaped(model), *shown]))
    lines.append("")
    lines.extend(f"- {line}" for line in _footer(table))
    return "\n".join(lines) + "\n"


def tidy_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard in long form: one row per model x task, models best first.

    Returns:
        A frame with :data:`CSV_COLUMNS`: the model's rank, model, task, the task's primary
        metric and direction, ``mean`` and ``std`` in the records' own units (NaN where there is
        no ok seed, or a single one for ``std``), ``n_ok``, ``n_failed`` and the cell text.
    """
    rules = table.attrs.get("tasks", {})
    rows = [
        {
            "rank": rank,
            "model": model,
            "task": task,
            "metric": rule["metric"],
            "higher_is_better": rule["higher_is_better"],
            **{field: row[task, field] for field in ("mean", "std", "n_ok", "n_failed", "cell")},
        }
        for rank, (model, row) in enumerate(table.iterrows(), start=1)
        for task, rule in rules.items()
    ]
    frame = pd.DataFrame(rows, columns=CSV_COLUMNS)
    return frame.astype({"rank": int, "n_ok": int, "n_failed": int, "mean": float, "std": float})


def render_csv(table: pd.DataFrame) -> str:
    """:func:`tidy_frame` as CSV text; missing numbers are empty fields, floats round-trip."""
    return tidy_frame(table).to_csv(index=False, lineterminator="\n")


def write_tables(table: pd.DataFrame, out_dir: Path, title: str | None = DEFAULT_TITLE) -> dict:
    """Write ``table`` as Markdown and CSV into ``out_dir``, each file atomically.

    Returns:
        ``{"markdown": path, "csv": path}``.
    """
    out_dir = Path(out_dir)
    return {
        "markdown": atomic_write_text(out_dir / MARKDOWN_NAME, render_markdown(table, title)),
        "csv": atomic_write_text(out_dir / CSV_NAME, render_csv(table)),
    }


def write_leaderboard(
    results_dir: Path, out_dir: Path, title: str | None = DEFAULT_TITLE
) -> dict[str, Path]:
    """Build the leaderboard from a result store and write its files.

    Args:
        results_dir: root of a :class:`~rsbench.results.ResultStore`.
        out_dir: where ``leaderboard.md`` and ``leaderboard.csv`` go (created if missing).
        title: heading of the Markdown page.

    Returns:
        ``{"markdown": path, "csv": path}``.

    Raises:
        FileNotFoundError: if ``results_dir`` is not a directory (a mistyped path must not
            publish an empty leaderboard).
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise InputNotFound(f"results directory {results_dir} does not exist")
    table = leaderboard_table(ResultStore(results_dir).records())
    return write_tables(table, out_dir, title)
