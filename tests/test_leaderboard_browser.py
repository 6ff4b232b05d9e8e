"""The leaderboard page in a real headless Chromium: JS sorting, rendered numbers, screenshot.

Skipped unless a ``chromium`` executable is on PATH (nothing is installed by the tests).
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from rsbench.leaderboard import parse_suite, write_suite_leaderboard
from rsbench.results import ResultStore, new_record

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH")

SUITE = {
    "suite": "browser",
    "version": 1,
    "description": "page test",
    "tasks": ["t1", "t2"],
    "seeds": [0, 1],
    "min_seeds": 2,
    "baselines": {"t1": {"low": 0.0, "high": 1.0}, "t2": {"low": 0.0, "high": 1.0}},
    "n_boot": 200,
}
# Best first (IQM = mean of two tasks): bravo 0.76, alpha 0.71, charlie 0.56; by name: alpha,
# bravo, charlie; by t1 ascending: alpha, charlie, bravo. Three different orders.
VALUES = {
    "bravo": {"t1": [0.90, 0.92], "t2": [0.60, 0.62]},
    "alpha": {"t1": [0.60, 0.62], "t2": [0.80, 0.82]},
    "charlie": {"t1": [0.70, 0.72], "t2": [0.40, 0.42]},
}


def record(model: str, task: str, seed: int, value: float, split: dict | None = None) -> dict:
    inputs = {"model": {"name": model}, "task": {"name": task, "version": 1}, "seed": seed}
    return new_record(
        inputs,
        status="ok",
        task={"name": task, "version": 1},
        model={"name": model, "load_report": {"params_total": 10**6 * (len(model) ** 3)}},
        protocol={"name": "knn"},
        seed=seed,
        data={"split_hash": "s", **({"split": split} if split else {})},
        metrics={"accuracy": value},
        primary_metric="accuracy",
        higher_is_better=True,
        timings={},
        environment={"rsbench": "0.1.0"},
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("browser")
    store = ResultStore(tmp / "results")
    for model, tasks in VALUES.items():
        for task, values in tasks.items():
            for seed, value in enumerate(values):
                store.write(record(model, task, seed, value))
    suite = parse_suite(SUITE, tmp / "browser.yaml")
    _, paths = write_suite_leaderboard(suite, store.root, tmp / "out")
    cells = pd.read_csv(paths["cells_csv"], float_precision="round_trip", keep_default_na=False)
    return paths["html"], cells


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}",
        "--virtual-time-budget=3000",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class Rows(HTMLParser):
    """Row order and task-cell attributes of the rendered table."""

    def __init__(self):
        super().__init__()
        self.table, self.models, self.cells = {}, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "board":
            self.table = attrs
        elif tag == "tr" and "data-model" in attrs:
            self.models.append(attrs["data-model"])
        elif tag == "td" and "data-task" in attrs:
            self.cells.append(attrs)


def rendered(page_path: Path, tmp: Path, fragment: str) -> Rows:
    done = chromium(tmp, "--dump-dom", page_path.resolve().as_uri() + fragment)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = Rows()
    rows.feed(done.stdout)
    return rows


def test_rendered_table_holds_the_csv_numbers(page, tmp_path):
    html, cells = page
    rows = rendered(html, tmp_path, "")
    assert rows.models == ["bravo", "alpha", "charlie"]  # best first, as written
    assert len(rows.cells) == len(cells)
    shown = {(c["data-model"], c["data-task"]): c for c in rows.cells}
    for row in cells.itertuples():
        c = shown[row.model, row.task]
        assert float(c["data-mean"]) == row.mean
        assert float(c["data-ci-low"]) == row.ci_low and float(c["data-ci-high"]) == row.ci_high


def test_sorting_from_the_url_runs_in_the_browser(page, tmp_path):
    html, cells = page
    by_name = rendered(html, tmp_path, "#sort=model")
    assert by_name.table.get("data-sorted") == "model"  # set by the page's JS only
    assert by_name.models == ["alpha", "bravo", "charlie"]
    by_t1 = rendered(html, tmp_path, "#sort=t1")
    assert by_t1.table.get("data-sorted") == "t1"
    t1 = cells[cells["task"] == "t1"].sort_values("mean")
    assert by_t1.models == list(t1["model"]) == ["alpha", "charlie", "bravo"]
    by_t2 = rendered(html, tmp_path, "#sort=-t2")
    assert by_t2.models == ["alpha", "bravo", "charlie"]


def test_screenshot_is_a_non_trivial_png(page, tmp_path):
    html, _ = page
    shot = tmp_path / "page.png"
    done = chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1200,900", html.resolve().as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


class Points(HTMLParser):
    """The label-efficiency points of the rendered page."""

    def __init__(self):
        super().__init__()
        self.points = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "circle" and "data-fraction" in attrs:
            self.points.append(attrs)


def test_label_efficiency_points_render_in_the_browser(tmp_path):
    store = ResultStore(tmp_path / "results")
    tasks = {"le_frac10": (0.1, [0.5, 0.7]), "le_frac100": (1.0, [0.8, 0.9])}
    for task, (fraction, values) in tasks.items():
        for seed, value in enumerate(values):
            store.write(record("alpha", task, seed, value, {"train_fraction": fraction}))
    suite = parse_suite({**SUITE, "tasks": list(tasks),
                         "baselines": dict.fromkeys(tasks, {"low": 0.0, "high": 1.0})},
                        tmp_path / "le.yaml")
    _, paths = write_suite_leaderboard(suite, store.root, tmp_path / "out")
    done = chromium(tmp_path, "--dump-dom", paths["html"].resolve().as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    found = Points()
    found.feed(done.stdout)
    got = {p["data-task"]: p for p in found.points}
    assert float(got["le_frac10"]["data-fraction"]) == 0.1
    assert float(got["le_frac10"]["data-mean"]) == (0.5 + 0.7) / 2
    assert float(got["le_frac100"]["data-mean"]) == (0.8 + 0.9) / 2
    assert float(got["le_frac10"]["cx"]) < float(got["le_frac100"]["cx"])
