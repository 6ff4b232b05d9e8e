"""Records as a table: one row per record, then the rows a leaderboard may use.

A leaderboard must never mix numbers that are not comparable, so before aggregation each task
keeps only its newest version (the design bumps a task's version whenever numbers would
change), and each (model, task, seed) keeps only its newest record. Whatever is set aside is
named in a warning, never dropped silently.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd

from rsbench.results.record import RecordError

COLUMNS = [
    "model",
    "task",
    "task_version",
    "seed",
    "status",
    "metric",
    "value",
    "higher_is_better",
    "created",
    "record_id",
    "error",
]
SEED_KEY = ["model", "task", "seed"]


class LeaderboardWarning(UserWarning):
    """Records a leaderboard set aside (older task versions, superseded duplicates)."""


def _error_text(record: dict) -> str | None:
    error = record.get("error")
    if record["status"] != "failed" or not isinstance(error, dict):
        return None
    return f"{error.get('type')}: {error.get('message', '')}".rstrip(": ")


def _value(record: dict) -> float:
    # A failed record's metrics (if any) are partial by definition: it has no score.
    if record["status"] != "ok":
        return math.nan
    value = record["metrics"].get(record["primary_metric"])
    return float(value) if value is not None else math.nan


def record_row(record: dict) -> dict:
    """The leaderboard's view of one record (see :data:`COLUMNS`)."""
    try:
        return {
            "model": record["model"]["name"],
            "task": record["task"]["name"],
            "task_version": record["task"].get("version"),
            "seed": record["seed"],
            "status": record["status"],
            "metric": record["primary_metric"],
            "value": _value(record),
            "higher_is_better": bool(record["higher_is_better"]),
            "created": record["created"],
            "record_id": record["record_id"],
            "error": _error_text(record),
        }
    except (KeyError, TypeError, AttributeError) as err:
        rid = record.get("record_id", "?") if isinstance(record, dict) else "?"
        raise RecordError(f"record {rid}: not a run record (missing {err})") from None


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record: model, task, task version, seed, status, primary metric name and
    value (NaN unless ok), higher_is_better, created (UTC timestamp), record id, error."""
    frame = pd.DataFrame([record_row(r) for r in records], columns=COLUMNS)
    frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
    frame["value"] = frame["value"].astype(float)
    return frame


def _warn_dropped(dropped: pd.DataFrame, why: str) -> None:
    if dropped.empty:
        return
    shown = ", ".join(
        f"{r.model}/{r.task}/seed{r.seed} ({r.record_id})" for r in dropped.head(5).itertuples()
    )
    more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
    warnings.warn(
        f"{len(dropped)} record(s) set aside, {why}: {shown}{more}",
        LeaderboardWarning,
        stacklevel=3,
    )


def newest_task_version(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of each task's highest version only (missing versions count as oldest); warns
    about the rest."""
    version = pd.to_numeric(frame["task_version"], errors="coerce").fillna(-math.inf)
    keep = version == version.groupby(frame["task"]).transform("max")
    _warn_dropped(frame[~keep], "results of an older task version (not comparable)")
    return frame[keep]


def newest_per_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """The newest record of each (model, task, seed); warns about the superseded ones."""
    ordered = frame.sort_values([*SEED_KEY, "created", "record_id"], kind="stable")
    keep = ~ordered.duplicated(SEED_KEY, keep="last")
    _warn_dropped(ordered[~keep], "duplicates of a (model, task, seed) with a newer record")
    return ordered[keep].sort_index()


def consistent_metric(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose primary metric is the one of their task's newest record; warns about the
    rest (one version of a task should have one primary metric, but records are data)."""
    newest = frame.sort_values("created", kind="stable").groupby("task")["metric"].last()
    keep = frame["metric"] == frame["task"].map(newest)
    _warn_dropped(frame[~keep], "a primary metric other than their task's")
    return frame[keep]


def usable_rows(records: list[dict]) -> pd.DataFrame:
    """The rows a leaderboard aggregates: newest task version, one primary metric per task,
    newest record per (model, task, seed)."""
    frame = records_frame(records)
    return newest_per_seed(consistent_metric(newest_task_version(frame))).reset_index(drop=True)
