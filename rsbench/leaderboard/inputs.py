"""A record's input in one line: which data band fed each model band, and the normalisation.

Records carry ``data.input`` (``rsbench.bands.plan.InputPlan.to_dict``); a multispectral
leaderboard cell is only comparable with another when its input is, so the HTML page shows this
line as each cell's tooltip and in its provenance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _numbers(values: Sequence[float] | None) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in values or ()) + "]"


def _source(row: dict) -> str:
    """``s2_l2a:B04`` for a named match; the rule in brackets for any other; ``missing``."""
    data = row.get("data")
    if data is None:
        return "missing"
    rule = row.get("rule")
    delta = row.get("delta_nm")
    how = "" if rule in (None, "name") else f" ({rule}{f' {delta:+g} nm' if delta else ''})"
    return f"{data}{how}"


def _scale(scale: dict, offset: float | None) -> str:
    if scale.get("data") is None or scale.get("model") is None:
        return "value scale unrecorded"
    low = offset or 0.0  # records before value_offset existed: data 0 was raw 0
    raw = f"data 0..1 = {low:g}..{low + scale['data']:g} raw" if low else f"data 1.0 = {scale['data']:g} raw"
    return f"value scale: {raw}, x{scale['model']:g} for the model"


def input_summary(data_input: dict | None) -> str | None:
    """``data.input`` of one record as one line, or None when the record has none.

    ``bands s2_l1c:B04<-s2_l2a:B04, ...; fill none; normalisation model (mean [...], std
    [...]); value scale: data 1.0 = 10000 raw, x1 for the model``
    """
    if not data_input:
        return None
    mapping = data_input.get("mapping") or []
    bands = ", ".join(f"{row.get('model')}<-{_source(row)}" for row in mapping)
    norm = str(data_input.get("normalisation"))
    if data_input.get("mean") is not None and norm != "none":
        norm += f" (mean {_numbers(data_input['mean'])}, std {_numbers(data_input['std'])})"
    parts = [f"bands {bands}", f"fill {data_input.get('band_fill') or 'none'}",
             f"normalisation {norm}", _scale(data_input.get("value_scale") or {}, data_input.get("value_offset"))]
    if data_input.get("patch_embed"):
        parts.append(f"patch embedding {data_input['patch_embed']}")
    return "; ".join(parts)


def cell_inputs(summaries: Iterable[str | None]) -> str:
    """The distinct input lines of a cell's records (seeds normally share one), ``|``-joined."""
    return " | ".join(dict.fromkeys(s for s in summaries if s))
