"""The leaderboard table: models x tasks, one cell per pair, aggregated over seeds.

Each cell holds the mean and the sample standard deviation (``ddof=1``) of the primary metric
over the ok seeds, the number of ok and of failed seeds, and the text shown to people:

- ``"93.40 ± 0.52 (n=3)"``: three ok seeds;
- ``"93.40 ± — (n=1)"``: one seed, so no spread can be estimated;
- ``"91.20 ± 0.30 (n=2, 1 failed)"``: the mean of the ok seeds, and the failure said aloud;
- ``"failed (3/3)"``: every seed failed; ``"not run"``: no record at all.

Failed seeds are never averaged in and never hidden. ``mean`` and ``std`` stay in the units the
records hold; only the text is scaled. Percent rule: a task's values are multiplied by 100 and
shown with two decimals when its metric name is accuracy-like (accuracy, OA, mIoU, mAP, AP50,
F1, kappa, ...) and every ok value of that task lies in [0, 1], i.e. it was recorded as a
fraction. A metric already recorded in percent, or one that is not a score (a loss, an RMSE),
is shown unscaled. Rows are ordered by each model's mean rank over the tasks (1 = best on a
task, ties share the average rank), a plain ordering key, not a normalised score. Ranks are
unit-free, so a loss and an accuracy weigh the same; a model with no ok seed on a task (not
run, or every seed failed) takes the last place there, so skipping or failing a task never
lifts a model above one that ran it.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import pandas as pd

from rsbench.leaderboard.frame import usable_rows

FIELDS = ("mean", "std", "n_ok", "n_failed", "cell")
SCORE_TOKEN = re.compile(
    r"(.*acc|.*accuracy|oa|aa|.*iou|.*jaccard\w*|map\d*|ap\d*|.*f1|f1score|fscore|dice|kappa"
    r"|precision|recall|top\d+|auroc|auc)"
)


@dataclass(frozen=True)
class TaskColumn:
    """How one task's column is labelled and shown."""

    metric: str
    higher_is_better: bool
    scale: float  # 100 for fractions shown in percent, else 1
    decimals: int


def is_score_metric(name: str) -> bool:
    """Whether ``name`` reads as a bounded score (accuracy, IoU, AP, F1, ...), token by token."""
    tokens = re.split(r"[^a-z0-9]+", name.lower())
    return any(SCORE_TOKEN.fullmatch(token) for token in tokens if token)


def task_column(rows: pd.DataFrame) -> TaskColumn:
    """The display rule of one task, from its usable rows (see the module docstring)."""
    newest = rows.sort_values("created", kind="stable").iloc[-1]
    values = rows.loc[rows["status"] == "ok", "value"]
    score = is_score_metric(newest["metric"])
    fraction = score and not values.empty and bool(values.between(0.0, 1.0).all())
    return TaskColumn(
        metric=str(newest["metric"]),
        higher_is_better=bool(newest["higher_is_better"]),
        scale=100.0 if fraction else 1.0,
        decimals=2 if score else 4,
    )


def cell_text(mean: float, std: float, n_ok: int, n_failed: int, column: TaskColumn) -> str:
    """What a person reads in one cell (formats in the module docstring)."""
    if n_ok == 0:
        return f"failed ({n_failed}/{n_failed})" if n_failed else "not run"
    digits = column.decimals
    spread = "—" if math.isnan(std) else f"{std * column.scale:.{digits}f}"
    counts = f"n={n_ok}" + (f", {n_failed} failed" if n_failed else "")
    return f"{mean * column.scale:.{digits}f} ± {spread} ({counts})"


def cell_stats(rows: pd.DataFrame, column: TaskColumn) -> dict:
    """``mean``, ``std``, ``n_ok``, ``n_failed`` and ``cell`` of one (model, task) group."""
    ok = rows.loc[rows["status"] == "ok", "value"].astype(float)
    n_ok, n_failed = len(ok), int((rows["status"] == "failed").sum())
    mean = float(ok.mean()) if n_ok else math.nan
    std = float(ok.std(ddof=1)) if n_ok > 1 else math.nan
    return {
        "mean": mean,
        "std": std,
        "n_ok": n_ok,
        "n_failed": n_failed,
        "cell": cell_text(mean, std, n_ok, n_failed, column),
    }


def empty_cell() -> dict:
    """The cell of a (model, task) pair without records."""
    return {"mean": math.nan, "std": math.nan, "n_ok": 0, "n_failed": 0, "cell": "not run"}


def mean_ranks(
    cells: dict[str, dict[str, dict]], columns: dict[str, TaskColumn]
) -> dict[str, float]:
    """Each model's ordering key: its mean over all tasks of its rank there (lower is better).

    Args:
        cells: model -> task -> cell (see :func:`cell_stats`); absent tasks were not run.
        columns: task -> display rule, for the direction of each task's metric.

    Returns:
        model -> mean rank; NaN only when there are no tasks at all.
    """
    last = float(len(cells))
    ranks: dict[str, list[float]] = {model: [] for model in cells}
    for task, column in columns.items():
        means = pd.Series(
            {m: c[task]["mean"] for m, c in cells.items() if c.get(task, {}).get("n_ok")},
            dtype=float,
        )
        ranked = means.rank(ascending=not column.higher_is_better, method="average")
        for model in cells:
            ranks[model].append(float(ranked.get(model, last)))
    return {m: sum(r) / len(r) if r else math.nan for m, r in ranks.items()}


def ranked_models(scores: dict[str, float]) -> list[str]:
    """Model names by mean rank, best (lowest) first; models without a rank last; ties by name."""

    def key(model: str) -> tuple[bool, float, str]:
        score = scores[model]
        return (math.isnan(score), 0.0 if math.isnan(score) else score, model)

    return sorted(scores, key=key)


def leaderboard_table(records: list[dict]) -> pd.DataFrame:
    """Aggregate records into the models x tasks leaderboard.

    Args:
        records: run records (e.g. ``ResultStore(root).records()``). Older task versions and
            superseded duplicates of a (model, task, seed) are set aside with a warning.

    Returns:
        A frame indexed by ``model`` (best first) with columns ``(task, field)`` for each
        task (sorted) and field in :data:`FIELDS`. ``table.attrs`` holds ``tasks`` (task ->
        metric, higher_is_better, scale, decimals), ``mean_rank`` (model -> ordering key,
        lower is better),
        ``n_records`` (records given) and ``n_used`` (records aggregated).
    """
    rows = usable_rows(records)
    columns = {task: task_column(group) for task, group in sorted(rows.groupby("task"))}
    cells: dict[str, dict[str, dict]] = {m: {} for m in sorted(rows["model"].unique())}
    for (model, task), group in rows.groupby(["model", "task"]):
        cells[model][task] = cell_stats(group, columns[task])
    scores = mean_ranks(cells, columns)
    order = ranked_models(scores)
    data = {
        (task, field): [cells[m].get(task, empty_cell())[field] for m in order]
        for task in columns
        for field in FIELDS
    }
    header = pd.MultiIndex.from_product([list(columns), FIELDS], names=["task", "field"])
    table = pd.DataFrame(data, index=pd.Index(order, name="model", dtype=object), columns=header)
    table.attrs = {
        "tasks": {task: asdict(column) for task, column in columns.items()},
        "mean_rank": scores,
        "n_records": len(records),
        "n_used": len(rows),
    }
    return table
