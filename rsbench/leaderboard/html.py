"""The suite leaderboard as one static, self-contained HTML page (no network, no CDN).

The page holds a sortable table (click a header; ``#sort=<column>`` or ``#sort=-<column>`` in
the URL sorts on load), per-task bar charts with CI whiskers, label-efficiency curves of score
against train fraction when records carry one (:mod:`rsbench.leaderboard.curves`) and a scaling
plot of the aggregate against parameter count, all inline SVG, and each record's provenance in a
``<details>`` element. A task cell's tooltip (``title``, and ``data-input``) states the input its
records were scored on: which data band fed each model band, the fill and the normalisation
(:mod:`rsbench.leaderboard.inputs`). Every number is also stored exactly in a ``data-*``
attribute (Python ``repr``, so it round-trips), which is what tests and scripts compare against
the CSV.
"""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from rsbench.leaderboard.board import SuiteBoard, rules
from rsbench.leaderboard.curves import curves_html
from rsbench.leaderboard.inputs import cell_inputs

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px}
th{background:#f2f2f2;cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}td.num{text-align:right}
td.failed{background:#fde8e8}td.short{background:#fff6dc}td.missing{color:#999}
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{font-size:13px}
details{margin:.3em 0;font-size:13px}code{font-size:12px}.note{color:#666}
"""

SCRIPT = """
(function(){
var table=document.getElementById('board');if(!table)return;var tbody=table.tBodies[0];
var ths=table.tHead.rows[0].cells;
function val(td,type){var v=td.getAttribute('data-sort');
 if(type==='num'){return (v===null||v==='')?NaN:parseFloat(v);}return v||'';}
function sortBy(key,desc){var idx=-1,type='text';
 for(var i=0;i<ths.length;i++){if(ths[i].getAttribute('data-key')===key){idx=i;type=ths[i].getAttribute('data-type');}}
 if(idx<0)return false;var rows=Array.prototype.slice.call(tbody.rows);
 rows.sort(function(a,b){var x=val(a.cells[idx],type),y=val(b.cells[idx],type);
  if(type==='num'){var nx=isNaN(x),ny=isNaN(y);if(nx||ny)return nx-ny;return desc?y-x:x-y;}
  return desc?(y<x?-1:(y>x?1:0)):(x<y?-1:(x>y?1:0));});
 rows.forEach(function(r){tbody.appendChild(r);});
 for(var j=0;j<ths.length;j++){ths[j].removeAttribute('aria-sort');}
 ths[idx].setAttribute('aria-sort',desc?'descending':'ascending');
 table.setAttribute('data-sorted',(desc?'-':'')+key);return true;}
table.tHead.addEventListener('click',function(e){var th=e.target.closest('th');if(!th)return;
 var desc=th.getAttribute('aria-sort')==='ascending';var key=th.getAttribute('data-key');
 sortBy(key,desc);try{history.replaceState(null,'','#sort='+(desc?'-':'')+encodeURIComponent(key));}catch(err){}});
function fromHash(){var m=/^#sort=(-?)(.+)$/.exec(location.hash);
 if(m){sortBy(decodeURIComponent(m[2]),m[1]==='-');}}
fromHash();window.addEventListener('hashchange',fromHash);
})();
"""


def exact(x) -> str:
    """A number as an exact attribute value (``repr``), empty for missing."""
    if x is None or pd.isna(x):
        return ""
    return repr(float(x)) if isinstance(x, float) else str(x)


def _attrs(**items) -> str:
    return "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in items.items())


def _fmt(x, digits: int = 3) -> str:
    return "—" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def _header(board: SuiteBoard) -> str:
    fixed = [
        ("rank", "num", "#"),
        ("model", "text", "model"),
        ("params", "num", "params"),
        ("aggregate", "num", "IQM [95% CI]"),
    ]
    tasks = [(t, "num", t) for t in board.suite.tasks]
    cells = "".join(
        f"<th{_attrs(data_key=k, data_type=ty)}>{escape(label)}</th>"
        for k, ty, label in fixed + tasks
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _model_cells(row) -> str:
    cover = "" if row.complete else f" <em>partial ({row.n_tasks}/{row.n_suite_tasks})</em>"
    agg = f"{_fmt(row.aggregate)} [{_fmt(row.ci_low)}, {_fmt(row.ci_high)}]{cover}"
    params = "—" if pd.isna(row.params) else f"{int(row.params):,}"
    return (
        f"<td class=num{_attrs(data_sort=exact(row.rank))}>"
        f"{'—' if pd.isna(row.rank) else int(row.rank)}</td>"
        f"<td{_attrs(data_sort=row.model)}>{escape(row.model)}</td>"
        f"<td class=num{_attrs(data_sort=exact(row.params))}>{params}</td>"
        f"<td class=num{_attrs(data_sort=exact(row.aggregate), data_aggregate=exact(row.aggregate), data_ci_low=exact(row.ci_low), data_ci_high=exact(row.ci_high))}>{agg}</td>"
    )


def _task_cell(cell, index: int, provenance: dict[str, dict]) -> str:
    # The bands and normalisation behind the number: the tooltip, and data-input for scripts.
    inputs = cell_inputs(provenance.get(rid, {}).get("input") for rid in cell.record_ids)
    attrs = _attrs(
        data_sort=exact(cell.mean),
        data_model=cell.model,
        data_task=cell.task,
        data_mean=exact(cell.mean),
        data_std=exact(cell.std),
        data_ci_low=exact(cell.ci_low),
        data_ci_high=exact(cell.ci_high),
        data_n_ok=cell.n_ok,
        data_n_failed=cell.n_failed,
        data_status=cell.status,
        data_normalised=exact(cell.normalised),
        data_input=inputs,
        **({"title": f"input: {inputs}"} if inputs else {}),
    )
    norm = "" if math.isnan(cell.normalised) else f"<br><small>norm {cell.normalised:.3f}</small>"
    text = escape(cell.cell) + ("" if cell.status == "ok" else f" <em>{cell.status}</em>")
    link = f' <a href="#prov-{index}">records</a>' if cell.records else ""
    return f'<td class="num {cell.status}"{attrs}>{text}{norm}{link}</td>'


def _table(board: SuiteBoard) -> str:
    cells = board.cells.reset_index(drop=True)
    body = []
    for row in board.models.itertuples():
        mine = cells[cells["model"] == row.model]
        tasks = "".join(
            _task_cell(c, i, board.provenance)
            for i, c in zip(mine.index, mine.itertuples(), strict=True)
        )
        body.append(f"<tr{_attrs(data_model=row.model)}>{_model_cells(row)}{tasks}</tr>")
    return f"<table id=board>{_header(board)}<tbody>{''.join(body)}</tbody></table>"


def _x(value: float, lo: float, hi: float, left: float, width: float) -> float:
    return left + (value - lo) / (hi - lo) * width


def bars_svg(task: str, cells: pd.DataFrame) -> str:
    """One task's means as horizontal bars with 95% CI whiskers (inline SVG)."""
    ok = cells[cells["n_ok"] > 0]
    if ok.empty:
        return ""
    values = pd.concat([ok["mean"], ok["ci_low"], ok["ci_high"]]).dropna()
    lo, hi = min(0.0, float(values.min())), float(values.max())
    hi = hi if hi > lo else lo + 1.0
    left, width, step = 150, 300, 20
    parts = []
    for i, c in enumerate(ok.itertuples()):
        y = 10 + i * step
        x0, x1 = _x(lo, lo, hi, left, width), _x(c.mean, lo, hi, left, width)
        colour = {"ok": "#4a78b5", "short": "#d9a521", "failed": "#c0392b"}.get(c.status, "#999")
        parts.append(
            f'<text x="{left - 5}" y="{y + 12}" text-anchor="end">{escape(c.model)}</text>'
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 0.5):.1f}" height="13" '
            f'fill="{colour}"><title>{escape(c.cell)}</title></rect>'
        )
        if not (math.isnan(c.ci_low) or math.isnan(c.ci_high)):
            a, b = _x(c.ci_low, lo, hi, left, width), _x(c.ci_high, lo, hi, left, width)
            parts.append(
                f'<path d="M{a:.1f} {y + 8.5}H{b:.1f}M{a:.1f} {y + 4}V{y + 13}'
                f'M{b:.1f} {y + 4}V{y + 13}" stroke="#222" fill="none"/>'
            )
        parts.append(f'<text x="{left + width + 5}" y="{y + 12}">{c.mean:.4g}</text>')
    height = 20 + len(ok) * step
    return (
        f'<figure><figcaption>{escape(task)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
        f'width="520" height="{height}" font-size="11">{"".join(parts)}</svg></figure>'
    )


def scaling_svg(models: pd.DataFrame) -> str:
    """Aggregate score against parameter count (log scale), or a note when no record has one."""
    have = models.dropna(subset=["params", "aggregate"])
    if have.empty:
        return (
            "<p class=note>No parameter counts in the records "
            "(<code>model.load_report.params_total</code>), so no scaling plot.</p>"
        )
    xs = [math.log10(float(p)) for p in have["params"]]
    ys = pd.concat([have["aggregate"], have["ci_low"], have["ci_high"]]).dropna()
    x_lo, x_hi = min(xs) - 0.2, max(xs) + 0.2
    y_lo, y_hi = min(0.0, float(ys.min())), max(1.0, float(ys.max()))
    left, top, w, h = 60, 20, 460, 260

    def py(v: float) -> float:
        return top + h - (v - y_lo) / (y_hi - y_lo) * h

    parts = [
        f'<path d="M{left} {top}V{top + h}H{left + w}" stroke="#222" fill="none"/>',
        f'<text x="{left + w / 2}" y="{top + h + 35}" text-anchor="middle">'
        "encoder parameters (log10)</text>",
        f'<text x="15" y="{top + h / 2}" transform="rotate(-90 15 {top + h / 2})" '
        'text-anchor="middle">aggregate (IQM)</text>',
    ]
    for tick in (y_lo, (y_lo + y_hi) / 2, y_hi):
        parts.append(
            f'<text x="{left - 5}" y="{py(tick) + 4:.1f}" text-anchor="end">{tick:.2f}</text>'
        )
    for x, row in zip(xs, have.itertuples(), strict=True):
        cx = _x(x, x_lo, x_hi, left, w)
        if not (math.isnan(row.ci_low) or math.isnan(row.ci_high)):
            parts.append(
                f'<path d="M{cx:.1f} {py(row.ci_low):.1f}V{py(row.ci_high):.1f}" stroke="#888"/>'
            )
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{py(row.aggregate):.1f}" r="4" fill="#4a78b5">'
            f"<title>{escape(row.model)}: {row.aggregate:.3f}</title></circle>"
            f'<text x="{cx + 6:.1f}" y="{py(row.aggregate) - 6:.1f}">{escape(row.model)}</text>'
        )
    return (
        f'<svg id=scaling xmlns="http://www.w3.org/2000/svg" width="{left + w + 120}" '
        f'height="{top + h + 45}" font-size="11">{"".join(parts)}</svg>'
    )


PROVENANCE_FIELDS = (
    "seed",
    "status",
    "checkpoint_sha256",
    "split_hash",
    "train_fraction",
    "dataset_fingerprint",
    "task_spec_hash",
    "code_version",
    "environment",
    "created",
    "error",
    "input",
)


def _provenance(board: SuiteBoard) -> str:
    out = []
    for i, cell in enumerate(board.cells.itertuples()):
        if not cell.record_ids:
            continue
        items = []
        for rid in cell.record_ids:
            prov = board.provenance[rid]
            rows = "".join(
                f"<tr><th>{k}</th><td><code>{escape(str(prov[k]))}</code></td></tr>"
                for k in PROVENANCE_FIELDS
                if prov.get(k) is not None
            )
            items.append(
                f'<li><a href="{escape(prov["record"])}">{escape(prov["record"])}</a>'
                f"<table>{rows}</table></li>"
            )
        out.append(
            f"<details id=prov-{i}><summary>{escape(cell.model)} / {escape(cell.task)} "
            f"({cell.status})</summary><ul>{''.join(items)}</ul></details>"
        )
    return "".join(out) or "<p class=note>No records.</p>"


def render_html(board: SuiteBoard) -> str:
    """The whole page as one string (see the module docstring)."""
    suite = board.suite
    title = f"{suite.name} leaderboard (suite v{suite.version})"
    charts = "".join(bars_svg(t, board.cells[board.cells["task"] == t]) for t in suite.tasks)
    notes = "".join(f"<li>{escape(n)}.</li>" for n in board.notes)
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(suite.description)}</p>"
        + (
            _table(board)
            if not board.models.empty
            else "<p>No records found for this suite's tasks.</p>"
        )
        + "<h2>Rules</h2><ul>"
        + "".join(f"<li>{escape(r)}</li>" for r in rules(suite))
        + notes
        + "</ul>"
        + f"<h2>Per task (mean, 95% CI)</h2><div class=charts>{charts}</div>"
        + curves_html(board)
        + f"<h2>Scaling</h2>{scaling_svg(board.models)}"
        + f"<h2>Provenance</h2>{_provenance(board)}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
