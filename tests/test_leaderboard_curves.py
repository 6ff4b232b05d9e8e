"""Label-efficiency curves on the suite page: fractions from records, log x axis, exact points."""

from __future__ import annotations

from html.parser import HTMLParser

from rsbench.leaderboard import parse_suite, render_html, suite_board
from rsbench.leaderboard.curves import LEFT, WIDTH, curves_html, family_of
from rsbench.results import new_record

TASKS = ["other_frac50", "le_frac1", "le_frac10", "le_frac100", "plain", "mixed_frac10"]
SUITE = {
    "suite": "curves",
    "version": 1,
    "tasks": TASKS,
    "seeds": [0, 1],
    "min_seeds": 2,
    "baselines": {t: {"low": 0.0, "high": 1.0} for t in TASKS},
    "n_boot": 100,
}
FRACTION = {"other_frac50": 0.5, "le_frac1": 0.01, "le_frac10": 0.1, "le_frac100": 1.0}
# model -> task -> per-seed values; beta has no le_frac10 record at all
VALUES = {
    "alpha": {"le_frac1": [0.5, 0.6], "le_frac10": [0.70, 0.72], "le_frac100": [0.90, 0.94],
              "other_frac50": [0.3, 0.3], "plain": [0.8, 0.8], "mixed_frac10": [0.6, 0.7]},
    "beta": {"le_frac1": [0.4, 0.4], "le_frac100": [0.80, 0.82]},
}


def record(model: str, task: str, seed: int, value: float) -> dict:
    fraction = FRACTION.get(task)
    if task == "mixed_frac10":  # seeds that disagree: the cell has no single fraction
        fraction = (0.1, 0.2)[seed]
    split = {"kind": "ratio"} | ({} if fraction is None else {"train_fraction": fraction})
    inputs = {"model": {"name": model}, "task": {"name": task, "version": 1}, "seed": seed}
    return new_record(
        inputs, status="ok", task={"name": task, "version": 1}, model={"name": model},
        protocol={"name": "knn"}, seed=seed,
        data={"split_hash": f"{task}-split", "split": split, "fingerprint": "fp"},
        metrics={"accuracy": value}, primary_metric="accuracy", higher_is_better=True,
        timings={}, environment={"rsbench": "0.1.0"},
    )


class Shapes(HTMLParser):
    """The curve figures' points and lines, by family."""

    def __init__(self):
        super().__init__()
        self.family, self.points, self.lines, self.families = None, [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg" and attrs.get("class") == "curve":
            self.family = attrs["data-family"]
            self.families.append(self.family)
        elif tag == "circle" and "data-fraction" in attrs:
            self.points.append({**attrs, "family": self.family})
        elif tag == "polyline":
            self.lines.append({**attrs, "family": self.family})


def board(values=VALUES, fractions=True):
    records = [record(m, t, s, v) for m, tasks in values.items() for t, vs in tasks.items()
               for s, v in enumerate(vs)]
    if not fractions:
        for r in records:
            r["data"].pop("split")
    return suite_board(records, parse_suite(SUITE, "curves.yaml"))


def shapes(page: str) -> Shapes:
    parser = Shapes()
    parser.feed(page)
    return parser


def test_points_hold_the_cell_means_at_the_records_fractions():
    page = render_html(board())
    found = shapes(page)
    # plain has no fraction, mixed_frac10's records disagree: neither is drawn
    assert found.families == ["other", "le"]  # suite order
    got = {(p["data-model"], p["data-task"]): p for p in found.points}
    assert set(got) == {("alpha", "other_frac50"), ("alpha", "le_frac1"), ("alpha", "le_frac10"),
                        ("alpha", "le_frac100"), ("beta", "le_frac1"), ("beta", "le_frac100")}
    assert float(got["alpha", "le_frac1"]["data-mean"]) == (0.5 + 0.6) / 2
    assert float(got["alpha", "le_frac10"]["data-mean"]) == (0.70 + 0.72) / 2
    assert float(got["beta", "le_frac100"]["data-mean"]) == (0.80 + 0.82) / 2
    assert float(got["alpha", "le_frac10"]["data-fraction"]) == 0.1
    assert "<th>train_fraction</th><td><code>0.01</code>" in page  # in the provenance too


def test_x_axis_is_log10_of_the_fraction():
    points = {p["data-task"]: p for p in shapes(render_html(board())).points
              if p["data-model"] == "alpha"}
    # le's fractions 1, 10, 100 % span log10 -2..0, padded by 0.1: [-2.1, 0.1] over WIDTH px.
    # 10 % lies in the middle of the axis (a linear axis would put it at 1/10 of the way).
    assert float(points["le_frac10"]["cx"]) == LEFT + WIDTH * 1.1 / 2.2 == 205.0
    assert float(points["le_frac1"]["cx"]) == round(LEFT + WIDTH * 0.1 / 2.2, 1) == 68.6
    assert float(points["le_frac100"]["cx"]) == round(LEFT + WIDTH * 2.1 / 2.2, 1) == 341.4


def test_each_model_is_one_line_by_increasing_fraction():
    lines = [x for x in shapes(render_html(board())).lines if x["family"] == "le"]
    assert [x["data-model"] for x in lines] == ["alpha", "beta"]
    xs = {x["data-model"]: [float(p.split(",")[0]) for p in x["points"].split()] for x in lines}
    assert xs == {"alpha": [68.6, 205.0, 341.4], "beta": [68.6, 341.4]}  # beta: no 10 % cell


def test_no_section_without_fractions():
    b = board(fractions=False)
    assert curves_html(b) == ""
    assert "Label efficiency" not in render_html(b)


def test_family_strips_only_a_trailing_fraction_suffix():
    assert family_of("ucmerced_8_2_linear_probe_frac5") == "ucmerced_8_2_linear_probe"
    assert family_of("frac5_knn") == "frac5_knn"
    assert family_of("loveda_frozen") == "loveda_frozen"
