"""Label-efficiency curves: score against training fraction (log x axis), one plot per family.

A cell's fraction is read from its records (``data.split.train_fraction``, through the board's
provenance), never from the task name. Tasks of one family share a name up to a
``_frac<percent>`` suffix (``ucmerced_8_2_linear_probe_frac5``), the convention of the shipped
label-efficiency tasks; a task without the suffix is a family of its own. Each model is a line
through its cell means, with 95% CI whiskers; every point keeps its exact numbers in ``data-*``
attributes (Python ``repr``), as the table's cells do. Cells with no ok seed, or whose records
carry no fraction, are not drawn.
"""

from __future__ import annotations

import math
import re
from html import escape

import pandas as pd

from rsbench.leaderboard.board import SuiteBoard

FAMILY_SUFFIX = re.compile(r"_frac\d+$")
POINT_COLUMNS = ["family", "model", "task", "fraction", "mean", "ci_low", "ci_high", "metric"]
COLOURS = ("#4a78b5", "#d9a521", "#3a9a5b", "#c0392b", "#8e5ea2", "#6b6b6b", "#e67e22")
#: Plot area: left edge, top edge, width, height (px).
LEFT, TOP, WIDTH, HEIGHT = 55, 15, 300, 200


def family_of(task: str) -> str:
    """The task's family: its name without a trailing ``_frac<percent>``."""
    return FAMILY_SUFFIX.sub("", task)


def cell_fraction(record_ids: list[str], provenance: dict[str, dict]) -> float | None:
    """The one train fraction a cell's records carry; None when none has one or they differ."""
    found = {provenance[rid].get("train_fraction") for rid in record_ids} - {None}
    return float(next(iter(found))) if len(found) == 1 else None  # type: ignore[arg-type]  # None removed above


def curve_points(board: SuiteBoard) -> pd.DataFrame:
    """One row per drawable cell (:data:`POINT_COLUMNS`), families in suite order, each
    model's points by increasing fraction."""
    rows = []
    for cell in board.cells.itertuples():
        fraction = cell_fraction(cell.record_ids, board.provenance)
        if cell.n_ok == 0 or fraction is None:
            continue
        rows.append({"family": family_of(cell.task), "model": cell.model, "task": cell.task,
                     "fraction": fraction, "mean": cell.mean, "ci_low": cell.ci_low,
                     "ci_high": cell.ci_high, "metric": cell.metric})
    points = pd.DataFrame(rows, columns=POINT_COLUMNS)
    order = {f: i for i, f in enumerate(dict.fromkeys(map(family_of, board.suite.tasks)))}
    return points.sort_values(["family", "model", "fraction"],
                              key=lambda s: s.map(order) if s.name == "family" else s,
                              kind="stable").reset_index(drop=True)


def _axis(values: list[float], pad: float) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    return (lo - pad, hi + pad) if hi > lo else (lo - 0.5, hi + 0.5)


def x_position(fraction: float, x_lo: float, x_hi: float) -> float:
    """Pixel x of a fraction on the log axis spanning ``[x_lo, x_hi]`` (log10 units)."""
    return LEFT + (math.log10(fraction) - x_lo) / (x_hi - x_lo) * WIDTH


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def curve_svg(family: str, points: pd.DataFrame, colours: dict[str, str]) -> str:
    """One family's curves as an inline SVG figure; ``colours`` maps model -> line colour."""
    fractions = sorted(set(points["fraction"]))
    x_lo, x_hi = _axis([math.log10(f) for f in fractions], 0.1)
    ys = pd.concat([points["mean"], points["ci_low"], points["ci_high"]]).dropna().tolist()
    y_lo, y_hi = _axis(ys, 0.05 * (max(ys) - min(ys)))

    def py(v: float) -> float:
        return TOP + HEIGHT - (v - y_lo) / (y_hi - y_lo) * HEIGHT

    bottom = TOP + HEIGHT
    parts = [f'<path d="M{LEFT} {TOP}V{bottom}H{LEFT + WIDTH}" stroke="#222" fill="none"/>']
    for f in fractions:
        x = x_position(f, x_lo, x_hi)
        parts.append(f'<path d="M{x:.1f} {bottom}v4" stroke="#222"/><text x="{x:.1f}" '
                     f'y="{bottom + 15}" text-anchor="middle">{_percent(f)}</text>')
    for tick in (y_lo, (y_lo + y_hi) / 2, y_hi):
        parts.append(f'<text x="{LEFT - 5}" y="{py(tick) + 4:.1f}" text-anchor="end">'
                     f"{tick:.3f}</text>")
    parts.append(f'<text x="{LEFT + WIDTH / 2}" y="{bottom + 32}" text-anchor="middle">'
                 "train fraction (log scale)</text>")
    for i, (model, mine) in enumerate(points.groupby("model", sort=False)):
        colour = colours[model]
        xy = [(x_position(p.fraction, x_lo, x_hi), py(p.mean)) for p in mine.itertuples()]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" '
                     f'data-model="{escape(model)}"/>')
        for (x, y), p in zip(xy, mine.itertuples(), strict=True):
            if not (math.isnan(p.ci_low) or math.isnan(p.ci_high)):
                parts.append(f'<path d="M{x:.1f} {py(p.ci_low):.1f}V{py(p.ci_high):.1f}" '
                             f'stroke="{colour}"/>')
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}" '
                f'data-model="{escape(model)}" data-task="{escape(p.task)}" '
                f'data-fraction="{p.fraction!r}" data-mean="{p.mean!r}" '
                f'data-ci-low="{p.ci_low!r}" data-ci-high="{p.ci_high!r}">'
                f"<title>{escape(model)} at {_percent(p.fraction)}: {p.mean:.4g}</title></circle>")
        parts.append(f'<text x="{LEFT + WIDTH + 15}" y="{TOP + 12 + 15 * i}" fill="{colour}">'
                     f"{escape(model)}</text>")
    metric = escape(str(points["metric"].iloc[0]))
    return (f'<figure><figcaption>{escape(family)} ({metric})</figcaption>'
            f'<svg class=curve data-family="{escape(family)}" xmlns="http://www.w3.org/2000/svg" '
            f'width="{LEFT + WIDTH + 140}" height="{TOP + HEIGHT + 40}" font-size="11">'
            f'{"".join(parts)}</svg></figure>')


def curves_html(board: SuiteBoard) -> str:
    """The page's label-efficiency section, or nothing when no cell has a fraction."""
    points = curve_points(board)
    if points.empty:
        return ""
    # One colour per model on the whole page, in board order.
    colours = {m: COLOURS[i % len(COLOURS)] for i, m in enumerate(board.models["model"])}
    figures = "".join(curve_svg(family, group, colours)
                      for family, group in points.groupby("family", sort=False))
    return ("<h2>Label efficiency (mean, 95% CI, against train fraction)</h2>"
            f"<div class=charts>{figures}</div>")
