"""Drift between two leaderboard builds: which cells moved, and what changed underneath them.

A nightly build is compared with the previous one cell by cell (model x task x metric, read from
the ``cells.csv`` each suite build writes). A cell has drifted when its new mean lies outside the
old 95% CI or its old mean outside the new CI, or when its status changed (``ok`` -> ``failed``).
For each drifted cell the records it links to, old and new, are read and every provenance field
that differs is named: code version, split file hash, dataset fingerprint, checkpoint sha256,
task spec hash, torch version, device, precision. A cell that moved with identical provenance is
said to have moved unexplained, which is itself worth a look (non-determinism).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rsbench.errors import RsbenchError
from rsbench.leaderboard.publish import CELLS_CSV_NAME

KEY = ["model", "task", "metric"]
NEEDED = {*KEY, "mean", "ci_low", "ci_high", "status", "records"}
PROVENANCE_FIELDS = (
    "code_version",
    "split_hash",
    "dataset_fingerprint",
    "checkpoint_sha256",
    "task_spec_hash",
    "torch",
    "device",
    "precision",
)


class DriftError(RsbenchError, ValueError):
    """A build that cannot be compared (missing or malformed ``cells.csv``)."""


@dataclass
class CellDrift:
    """One drifted cell: the old and new numbers and the provenance that differs."""

    model: str
    task: str
    metric: str
    reason: str
    old: dict
    new: dict
    provenance: dict[str, dict] = field(default_factory=dict)
    provenance_notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "task": self.task,
            "metric": self.metric,
            "reason": self.reason,
            "old": self.old,
            "new": self.new,
            "provenance": self.provenance,
            "provenance_notes": self.provenance_notes,
        }


@dataclass
class DriftReport:
    """Every drifted cell, plus cells present in only one build."""

    old: str
    new: str
    drifted: list[CellDrift] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    compared: int = 0

    @property
    def any(self) -> bool:
        """Whether anything drifted (what a nightly job alerts on)."""
        return bool(self.drifted)

    def to_dict(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "compared": self.compared,
            "drifted": [d.to_dict() for d in self.drifted],
            "added": self.added,
            "removed": self.removed,
        }

    def to_markdown(self) -> str:
        lines = [
            "# Leaderboard drift",
            "",
            f"- old build: `{self.old}`",
            f"- new build: `{self.new}`",
            f"- cells compared: {self.compared}, drifted: {len(self.drifted)}",
            "",
        ]
        if not self.drifted:
            lines.append("No cell drifted.")
        else:
            lines += [
                "| model | task | metric | old mean [CI] | new mean [CI] | why | provenance changed |",
                "|:--|:--|:--|:--|:--|:--|:--|",
            ]
            for d in self.drifted:
                changed = (
                    "; ".join(
                        f"{name}: {_short(v['old'])} → {_short(v['new'])}"
                        for name, v in d.provenance.items()
                    )
                    or "; ".join(d.provenance_notes)
                    or "none (unexplained)"
                )
                lines.append(
                    f"| {_esc(d.model)} | {_esc(d.task)} | {_esc(d.metric)} | {_cell(d.old)} | "
                    f"{_cell(d.new)} | {_esc(d.reason)} | {_esc(changed)} |"
                )
        for title, items in (
            ("Cells only in the new build", self.added),
            ("Cells only in the old build", self.removed),
        ):
            if items:
                lines += ["", f"## {title}", ""] + [f"- {_esc(i)}" for i in items]
        return "\n".join(lines) + "\n"


def _esc(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _short(values: list) -> str:
    shown = [str(v)[:16] if v is not None else "—" for v in values]
    return ", ".join(shown) if shown else "—"


def _num(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def _cell(c: dict) -> str:
    return f"{_num(c['mean'])} [{_num(c['ci_low'])}, {_num(c['ci_high'])}] {c['status']}"


def cells_csv(path: Path | str) -> Path:
    """The ``cells.csv`` of a build given as the file or its folder."""
    path = Path(path)
    csv = path / CELLS_CSV_NAME if path.is_dir() else path
    if not csv.is_file():
        raise DriftError(
            f"{path}: no {CELLS_CSV_NAME} here; give a suite build's output folder or its cells.csv"
        )
    return csv


def read_cells(path: Path | str) -> tuple[pd.DataFrame, Path]:
    """The build's cells (one row per model x task x metric) and the folder links resolve from."""
    csv = cells_csv(path)
    frame = pd.read_csv(
        csv, dtype={"model": str, "task": str, "metric": str, "records": str, "status": str}
    )
    missing = NEEDED - set(frame.columns)
    if missing:
        raise DriftError(
            f"{csv}: missing column(s) {sorted(missing)}; is this a suite leaderboard's cells.csv?"
        )
    frame["records"] = frame["records"].fillna("")
    return frame, csv.parent


def _value(x):
    return None if pd.isna(x) else float(x)


def _numbers(row) -> dict:
    return {
        "mean": _value(row.mean),
        "ci_low": _value(row.ci_low),
        "ci_high": _value(row.ci_high),
        "status": row.status,
        "records": [r for r in row.records.split(";") if r],
    }


def _outside(x, low, high) -> bool:
    return None not in (x, low, high) and not (low <= x <= high)


def drift_reason(old: dict, new: dict) -> str | None:
    """Why the cell drifted, or None when it did not."""
    if old["status"] != new["status"]:
        return f"status {old['status']} → {new['status']}"
    if _outside(new["mean"], old["ci_low"], old["ci_high"]):
        return "new mean outside old CI"
    if _outside(old["mean"], new["ci_low"], new["ci_high"]):
        return "old mean outside new CI"
    if (old["mean"] is None) != (new["mean"] is None):
        return "mean appeared or vanished"
    return None


def record_provenance(record: dict) -> dict:
    """The fields of :data:`PROVENANCE_FIELDS` of one record."""
    model, data, env = record["model"], record["data"], record["environment"]
    git = env.get("git") or {}
    code = str(env.get("rsbench"))
    if git.get("sha"):
        code += f" ({git['sha'][:12]}{', dirty' if git.get('dirty') else ''})"
    device = env.get("device") or {}
    return {
        "code_version": code,
        "split_hash": data.get("split_hash"),
        "dataset_fingerprint": data.get("fingerprint"),
        "checkpoint_sha256": model.get("checkpoint_sha256")
        or (model.get("load_report") or {}).get("sha256"),
        "task_spec_hash": record["task"].get("spec_hash"),
        "torch": (env.get("packages") or {}).get("torch"),
        "device": " ".join(str(x) for x in (device.get("kind"), device.get("name")) if x) or None,
        "precision": env.get("precision"),
    }


def provenance_values(
    links: list[str], base: Path, notes: list[str], label: str
) -> dict[str, list]:
    """Sorted distinct values of each provenance field over the linked records."""
    from rsbench.results import RecordError, load_record

    seen: dict[str, set] = {name: set() for name in PROVENANCE_FIELDS}
    for link in links:
        path = Path(link) if Path(link).is_absolute() else base / link
        try:
            prov = record_provenance(load_record(path))
        except RecordError as err:
            notes.append(f"{label} record unreadable: {err}")
            continue
        for name, value in prov.items():
            seen[name].add(value)
    return {name: sorted(values, key=str) for name, values in seen.items()}


def provenance_changes(old: dict, new: dict, old_base: Path, new_base: Path) -> tuple[dict, list]:
    """Provenance fields whose values differ between the old and the new cell's records."""
    notes: list[str] = []
    before = provenance_values(old["records"], old_base, notes, "old")
    after = provenance_values(new["records"], new_base, notes, "new")
    changed = {
        name: {"old": before[name], "new": after[name]}
        for name in PROVENANCE_FIELDS
        if before[name] != after[name]
    }
    return changed, notes


def compare_builds(old: Path | str, new: Path | str) -> DriftReport:
    """Compare two suite builds (folders or ``cells.csv`` files)."""
    old_frame, old_base = read_cells(old)
    new_frame, new_base = read_cells(new)
    old_cells = {tuple(getattr(r, k) for k in KEY): _numbers(r) for r in old_frame.itertuples()}
    new_cells = {tuple(getattr(r, k) for k in KEY): _numbers(r) for r in new_frame.itertuples()}
    report = DriftReport(old=str(old), new=str(new))
    report.added = [" / ".join(k) for k in new_cells if k not in old_cells]
    report.removed = [" / ".join(k) for k in old_cells if k not in new_cells]
    for key in (k for k in old_cells if k in new_cells):
        report.compared += 1
        o, n = old_cells[key], new_cells[key]
        reason = drift_reason(o, n)
        if reason is None:
            continue
        changed, notes = provenance_changes(o, n, old_base, new_base)
        report.drifted.append(
            CellDrift(key[0], key[1], key[2], reason=reason, old=o, new=n, provenance=changed,
                      provenance_notes=notes)
        )
    return report
