"""A suite leaderboard: per model x task statistics, normalised scores, IQM aggregates, ranks.

Built only from records (docs/ARCHITECTURE.md "Records and leaderboards"). The suite decides which tasks and seeds
count; every (model, task) cell gets a status that decides whether it enters the aggregate:

- ``ok``: at least ``min_seeds`` ok records of registered seeds and no failed one;
- ``short``: fewer ok seeds than ``min_seeds`` (shown, not aggregated);
- ``failed``: at least one registered seed failed (shown with its count, never averaged in,
  never replaced by another seed);
- ``missing``: no record at all.

The rules are also stated in words in :data:`RULES` and printed with every output.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rsbench.leaderboard.frame import LeaderboardWarning, usable_rows
from rsbench.leaderboard.inputs import input_summary
from rsbench.leaderboard.stats import aggregate_ci, bootstrap_ci, normalised, rng_for
from rsbench.leaderboard.suite import Suite
from rsbench.leaderboard.table import TaskColumn, task_column

STATUSES = ("ok", "short", "failed", "missing")
CELL_COLUMNS = [
    "rank",
    "model",
    "task",
    "metric",
    "higher_is_better",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "n_ok",
    "n_failed",
    "status",
    "normalised",
    "in_aggregate",
    "task_rank",
    "cell",
    "records",
]
MODEL_COLUMNS = [
    "rank",
    "model",
    "params",
    "aggregate",
    "ci_low",
    "ci_high",
    "n_tasks",
    "n_suite_tasks",
    "complete",
]


def rules(suite: Suite) -> list[str]:
    """The aggregation rules of ``suite``, in words (printed with every output)."""
    seeds = ", ".join(map(str, suite.seeds))
    return [
        f"Cell: mean ± sample std (ddof=1) of the primary metric over the ok runs of the "
        f"pre-registered seeds [{seeds}]; [a, b] is the 95% percentile bootstrap CI of the "
        f"mean ({suite.n_boot} resamples of the seeds, RNG seed {suite.boot_seed}).",
        "Normalised score per task = (mean − low) / (high − low) with the suite's baselines "
        "(flipped for lower-is-better metrics): 0 = baseline (chance), 1 = reference.",
        "Aggregate = interquartile mean (IQM: the middle 50% after trimming 25% at each end) of "
        "a model's normalised task scores; its CI resamples seeds within every task and "
        "recomputes the IQM.",
        f"Excluded from aggregates, and shown as such: missing cells (no record), failed cells "
        f"(any failed seed; failures are never averaged in nor replaced) and short cells "
        f"(fewer than {suite.min_seeds} ok seeds). Records of unregistered seeds are set aside.",
        "Ranks: only models whose every suite task enters the aggregate are ranked, best "
        "aggregate first; the others follow unranked as partial (k/N tasks).",
    ]


@dataclass
class SuiteBoard:
    """A built suite leaderboard.

    Attributes:
        suite: the suite definition.
        cells: one row per model x task (:data:`CELL_COLUMNS`), models in board order; the
            ``records`` column holds lists of record paths (relative to the output folder when
            one was given), ``record_ids`` the matching ids.
        models: one row per model (:data:`MODEL_COLUMNS`), best first.
        provenance: record id -> key provenance (see :func:`provenance`).
        notes: what was set aside, in words.
    """

    suite: Suite
    cells: pd.DataFrame
    models: pd.DataFrame
    provenance: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def provenance(record: dict, path: str | None = None) -> dict:
    """The key provenance of one record: checkpoint, split, code version, environment."""
    model, data, env = record["model"], record["data"], record["environment"]
    report = model.get("load_report") or {}
    git = env.get("git") or {}
    packages = env.get("packages") or {}
    device = env.get("device") or {}
    code = env.get("rsbench")
    if git.get("sha"):
        code = f"{code} ({git['sha'][:12]}{', dirty' if git.get('dirty') else ''})"
    error = record.get("error") or {}
    return {
        "record": path,
        "record_id": record["record_id"],
        "seed": record["seed"],
        "status": record["status"],
        "created": record["created"],
        "checkpoint_sha256": model.get("checkpoint_sha256") or report.get("sha256"),
        "split_hash": data.get("split_hash"),
        "train_fraction": (data.get("split") or {}).get("train_fraction"),
        "dataset_fingerprint": data.get("fingerprint"),
        "task_spec_hash": record["task"].get("spec_hash"),
        "code_version": code,
        "environment": ", ".join(
            str(x)
            for x in (
                f"torch {packages['torch']}" if packages.get("torch") else None,
                device.get("name"),
                env.get("precision"),
                env.get("strategy"),
                f"world size {env['world_size']}" if env.get("world_size") else None,
            )
            if x
        )
        or None,
        "error": f"{error.get('type')}: {error.get('message', '')}" if error else None,
        "input": input_summary(data.get("input")),
    }


def params_of(records: list[dict]) -> dict[str, int]:
    """model -> encoder parameter count from ``model.load_report.params_total``, if recorded."""
    found: dict[str, int] = {}
    for record in records:
        report = record["model"].get("load_report") or {}
        total = report.get("params_total") if isinstance(report, dict) else None
        if isinstance(total, int) and total > 0:
            found.setdefault(record["model"]["name"], total)
    return found


def _set_aside(rows: pd.DataFrame, keep: pd.Series, why: str, notes: list[str]) -> pd.DataFrame:
    dropped = rows[~keep]
    if not dropped.empty:
        text = f"{len(dropped)} record(s) set aside: {why}"
        notes.append(text)
        warnings.warn(text, LeaderboardWarning, stacklevel=3)
    return rows[keep]


def suite_rows(records: list[dict], suite: Suite, notes: list[str]) -> pd.DataFrame:
    """The records' usable rows restricted to the suite's tasks, metrics and seeds."""
    mine = [r for r in records if r["task"]["name"] in suite.tasks]
    smoke = [r for r in mine if ((r.get("data") or {}).get("prepared") or {}).get("subset")]
    if smoke:  # prepared from a --tiles subset: a smoke test, never a leaderboard number
        text = (f"{len(smoke)} record(s) set aside: data prepared from a subset of the tiles "
                "(--tiles); prepare the full dataset and run again")
        notes.append(text)
        warnings.warn(text, LeaderboardWarning, stacklevel=2)
        mine = [r for r in mine if r not in smoke]
    rows = usable_rows(mine)
    wanted = [suite.primary.get(t, m) for t, m in zip(rows["task"], rows["metric"], strict=True)]
    rows = _set_aside(
        rows,
        rows["metric"] == pd.Series(wanted, index=rows.index, dtype=object),
        "a primary metric other than the suite's",
        notes,
    )
    registered = rows["seed"].isin(list(suite.seeds))
    return _set_aside(rows, registered, f"seeds outside the registered {list(suite.seeds)}", notes)


def _status(n_ok: int, n_failed: int, suite: Suite) -> str:
    if n_ok == 0 and n_failed == 0:
        return "missing"
    if n_failed:
        return "failed"
    return "short" if n_ok < suite.min_seeds else "ok"


def cell_text(cell: dict, column: TaskColumn | None, suite: Suite) -> str:
    """What a person reads in one cell, e.g. ``"92.00 ± 2.00 [90.40, 93.60] (n=5)"``."""
    n_ok, n_failed = cell["n_ok"], cell["n_failed"]
    if n_ok == 0:
        return f"failed ({n_failed}/{n_failed})" if n_failed else "not run"
    scale, digits = (column.scale, column.decimals) if column else (1.0, 4)

    def shown(x: float) -> str:
        return "—" if math.isnan(x) else f"{x * scale:.{digits}f}"

    counts = f"n={n_ok}"
    if n_failed:
        counts += f", {n_failed} failed"
    elif n_ok < suite.min_seeds:
        counts += f" of {suite.min_seeds}, short"
    ci = f"[{shown(cell['ci_low'])}, {shown(cell['ci_high'])}]"
    return f"{shown(cell['mean'])} ± {shown(cell['std'])} {ci} ({counts})"


def _cell(model: str, task: str, group: pd.DataFrame, suite: Suite) -> dict:
    group = group.sort_values("seed")
    ok = group.loc[group["status"] == "ok", "value"].to_numpy(dtype=float)
    n_ok, n_failed = len(ok), int((group["status"] == "failed").sum())
    mean = float(ok.mean()) if n_ok else math.nan
    ci = (
        bootstrap_ci(ok, suite.n_boot, rng_for(suite.boot_seed, model, task))
        if n_ok
        else (math.nan, math.nan)
    )
    up = bool(group["higher_is_better"].iloc[0]) if len(group) else True
    low, high = suite.baselines[task]
    status = _status(n_ok, n_failed, suite)
    return {
        "model": model,
        "task": task,
        "metric": str(group["metric"].iloc[0]) if len(group) else suite.primary.get(task, ""),
        "higher_is_better": up,
        "mean": mean,
        "std": float(ok.std(ddof=1)) if n_ok > 1 else math.nan,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "n_ok": n_ok,
        "n_failed": n_failed,
        "status": status,
        "normalised": float(normalised(mean, low, high, up)) if n_ok else math.nan,
        "in_aggregate": status == "ok",
        "record_ids": list(group["record_id"]),
        "values": ok,
    }


def _model_rows(cells: list[dict], suite: Suite, params: dict[str, int]) -> pd.DataFrame:
    rows = []
    for model in dict.fromkeys(c["model"] for c in cells):
        used = [c for c in cells if c["model"] == model and c["in_aggregate"]]
        per_task = [(c["values"], *suite.baselines[c["task"]], c["higher_is_better"]) for c in used]
        agg, low, high = aggregate_ci(
            per_task, suite.n_boot, rng_for(suite.boot_seed, model, "aggregate")
        )
        rows.append(
            {
                "model": model,
                "params": params.get(model),
                "aggregate": agg,
                "ci_low": low,
                "ci_high": high,
                "n_tasks": len(used),
                "n_suite_tasks": len(suite.tasks),
                "complete": len(used) == len(suite.tasks),
            }
        )
    frame = pd.DataFrame(rows, columns=MODEL_COLUMNS[1:])
    ranked = frame["aggregate"].where(frame["complete"])
    frame.insert(0, "rank", ranked.rank(ascending=False, method="min"))
    key = frame.assign(_agg=frame["aggregate"].fillna(-math.inf))
    order = key.sort_values(
        ["rank", "n_tasks", "_agg", "model"],
        ascending=[True, False, False, True],
        na_position="last",
    ).index
    frame = frame.loc[order].reset_index(drop=True)
    return frame.astype({"params": "Int64", "rank": "Int64", "n_tasks": int})


def suite_board(
    records: list[dict],
    suite: Suite,
    paths: dict[str, Path] | None = None,
    relative_to: Path | None = None,
) -> SuiteBoard:
    """Build the suite leaderboard from records.

    Args:
        records: run records (any tasks; those outside the suite are ignored).
        suite: the suite definition.
        paths: record id -> record file, for the links of each cell.
        relative_to: links are written relative to this folder (the output folder).

    Returns:
        The :class:`SuiteBoard`. Models are those with a record of a suite task.
    """
    notes: list[str] = []
    rows = suite_rows(records, suite, notes)
    by_id = {r["record_id"]: r for r in records}
    columns = {t: task_column(g) for t, g in rows.groupby("task")}
    groups = dict(iter(rows.groupby(["model", "task"])))
    empty = rows.iloc[:0]
    cells = [
        _cell(m, t, groups.get((m, t), empty), suite)
        for m in sorted(rows["model"].unique())
        for t in suite.tasks
    ]
    models = _model_rows(cells, suite, params_of(records))
    rank = dict(zip(models["model"], models["rank"], strict=True))
    order = {m: i for i, m in enumerate(models["model"])}

    def link(rid: str) -> str:
        path = (paths or {}).get(rid)
        if path is None:
            return f"{rid}.json"
        return os.path.relpath(path, relative_to) if relative_to else str(path)

    for c in cells:
        c["rank"] = rank[c["model"]]
        c["cell"] = cell_text(c, columns.get(c["task"]), suite)
        c["records"] = [link(rid) for rid in c["record_ids"]]
    frame = pd.DataFrame(cells)
    if frame.empty:
        frame = pd.DataFrame(columns=[*CELL_COLUMNS, "record_ids", "values"])
    frame["task_rank"] = (
        frame["normalised"]
        .where(frame["in_aggregate"].astype(bool))
        .groupby(frame["task"])
        .rank(ascending=False, method="min")
    )
    frame = frame.sort_values(
        ["model", "task"],
        key=lambda s: (
            s.map(order) if s.name == "model" else s.map({t: i for i, t in enumerate(suite.tasks)})
        ),
    )
    frame = frame.reset_index(drop=True).astype({"rank": "Int64", "task_rank": "Int64"})
    prov = {rid: provenance(by_id[rid], link(rid)) for ids in frame["record_ids"] for rid in ids}
    return SuiteBoard(suite, frame[[*CELL_COLUMNS, "record_ids", "values"]], models, prov, notes)
