"""The leaderboard page states each cell's input: band mapping, fill, normalisation, scale."""

from __future__ import annotations

import warnings
from html.parser import HTMLParser

from rsbench.backbones.input_spec import InputSpec
from rsbench.bands.plan import input_plan
from rsbench.config import DatasetSpec
from rsbench.leaderboard import parse_suite
from rsbench.leaderboard.board import suite_board
from rsbench.leaderboard.html import render_html
from rsbench.leaderboard.inputs import cell_inputs, input_summary
from rsbench.results import new_record

S1S2 = ("s1:VV", "s1:VH", "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09",
        "B11", "B12")


def rgb_on_bigearthnet_all() -> dict:
    """An RGB card's plan on BigEarthNet S1+S2: what a record's data.input holds."""
    spec = InputSpec(bands=("R", "G", "B"), mean=(0.5, 0.25, 0.125), std=(0.2, 0.2, 0.2))
    dataset = DatasetSpec(name="bigearthnet", variant="all", split={"kind": "official"},
                          image_size=224, bands=S1S2)
    return input_plan(spec, "rgb-vit", dataset).to_dict()


def test_summary_names_each_source_band_and_the_normalisation():
    line = input_summary(rgb_on_bigearthnet_all())
    # R, G, B answer to B04, B03, B02 by common name (data channels 5, 4, 3 of the 14).
    assert line == ("bands rgb:R<-s2_l2a:B04 (common name), rgb:G<-s2_l2a:B03 (common name), "
                    "rgb:B<-s2_l2a:B02 (common name); fill none; normalisation model (mean "
                    "[0.5, 0.25, 0.125], std [0.2, 0.2, 0.2]); value scale: data 1.0 = 10000 "
                    "raw, x1 for the model")
    assert input_summary(None) is None and input_summary({}) is None
    assert cell_inputs(["a", None, "a", "b"]) == "a | b"


class Cells(HTMLParser):
    """``(model, task) -> (title, data-input)`` of every task cell."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[str | None, str | None]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-task" in a:
            self.cells[(a["data-model"], a["data-task"])] = (a.get("title"), a.get("data-input"))


def record(model: str, task: str, seed: int, data_input: dict | None) -> dict:
    inputs = {"model": {"name": model}, "task": {"name": task, "version": 1}, "seed": seed}
    return new_record(
        inputs, status="ok", task={"name": task, "version": 1}, model={"name": model},
        protocol={"name": "knn"}, seed=seed,
        data={"split_hash": "s", **({"input": data_input} if data_input else {})},
        metrics={"map_macro": 0.5 + seed / 100}, primary_metric="map_macro",
        higher_is_better=True, timings={}, environment={"rsbench": "0.1.0"})


def test_html_cell_tooltip_and_provenance_show_the_input():
    suite = parse_suite({"suite": "ms", "version": 1, "description": "d", "tasks": ["ben"],
                         "seeds": [0, 1], "min_seeds": 2,
                         "baselines": {"ben": {"low": 0.0, "high": 1.0}}, "n_boot": 50}, None)
    plan = rgb_on_bigearthnet_all()
    records = [record("rgb-vit", "ben", s, plan) for s in (0, 1)]
    records += [record("old", "ben", s, None) for s in (0, 1)]  # records from before data.input
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = render_html(suite_board(records, suite))
    parser = Cells()
    parser.feed(page)
    line = input_summary(plan)
    assert parser.cells[("rgb-vit", "ben")] == (f"input: {line}", line)
    assert parser.cells[("old", "ben")] == (None, "")
    assert page.count(f"<th>input</th><td><code>{line.replace('<', '&lt;')}</code>") == 2


def test_a_sar_cell_states_the_db_range_its_data_0_and_1_stand_for():
    # BigEarthNet S1 data: -50 dB -> 0, +10 dB -> 1 (rsbench.data.sar), recorded, not applied.
    spec = InputSpec(bands=("VV", "VH"), sensor="s1", mean=(0.5, 0.5), std=(0.1, 0.1))
    dataset = DatasetSpec(name="bigearthnet", variant="s1", split={"kind": "official"},
                          image_size=120, bands=("VV", "VH"))
    data_input = input_plan(spec, "sar-vit", dataset).to_dict()
    assert (data_input["value_scale"], data_input["value_offset"]) == ({"data": 60.0, "model": 1.0}, -50.0)
    assert input_summary(data_input).endswith("value scale: data 0..1 = -50..10 raw, x1 for the model")
