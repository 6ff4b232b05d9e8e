"""The end of ``rsbench run``: one row per (task, seed) for people, and the same as JSON."""

from __future__ import annotations

import sys
from pathlib import Path


def summary_rows(records: list[dict], out: Path) -> list[dict]:
    """Task, seed, status, primary metric and value, seconds and record path of each record."""
    from rsbench.results import ResultStore

    store = ResultStore(out)
    rows = []
    for r in records:
        metric = r["primary_metric"]
        rows.append({"task": r["task"]["name"], "seed": r["seed"], "status": r["status"],
                     "metric": metric, "value": r["metrics"].get(metric),
                     "seconds": round(float(r["timings"].get("total_s", 0.0)), 1),
                     "record": str(store.path_for(r["inputs"])),
                     "error": (r.get("error") or {}).get("message")})
    return rows


def print_table(rows: list[dict]) -> None:
    """The rows as a table on stderr (stdout stays machine-readable)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rsbench run", title_justify="left")
    for name in ("task", "seed", "status", "metric", "value", "seconds", "record"):
        table.add_column(name, justify="right" if name in ("seed", "value", "seconds") else "left")
    for r in rows:
        value = "—" if r["value"] is None else f"{r['value']:.4f}"
        status = r["status"] if r["status"] == "ok" else f"[red]{r['status']}[/red]"
        table.add_row(r["task"], str(r["seed"]), status, r["metric"], value, f"{r['seconds']:.1f}",
                      r["record"])
    Console(file=sys.stderr, width=200).print(table)
