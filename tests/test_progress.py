"""The live display of a run on a terminal: runs done with an ETA, each run's stages in order,
training steps counted; absent in a pipe (every other test's output has none of it)."""

import json

from rich.console import Console
from tiny_models import write_demo_task, write_tiny_card

from rsbench import progress
from rsbench.cli import main


def test_a_terminal_run_shows_runs_stages_and_steps(tmp_path, monkeypatch, capsys):
    from rsbench.data import make_synthetic_ucmerced

    make_synthetic_ucmerced(tmp_path / "data" / "ucmerced", n_per_class=6, size=32, seed=0)
    card = write_tiny_card(tmp_path, 32)
    knn = write_demo_task(tmp_path, "p_knn", "knn", "{k: 3}")
    ft = write_demo_task(tmp_path, "p_ft", "finetune",
                         "{epochs: 2, batch_size: 8, warmup_epochs: 1, mixup: 0.0, cutmix: 0.0}")
    console = Console(stderr=True, record=True, force_terminal=True, width=150)
    monkeypatch.setattr(progress, "wanted", lambda quiet: not quiet)
    monkeypatch.setattr(progress, "default_console", lambda: console)
    rc = main(["run", "--model", str(card), "--tasks", f"{knn},{ft}", "--seeds", "0",
               "--data-root", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "c"),
               "--out", str(tmp_path / "out"), "--accelerator", "cpu"])
    assert rc == 0
    shown = console.export_text()
    for text in ("p_knn seed 0: load", "p_knn seed 0: kNN votes", "p_ft seed 0: pre-flight",
                 "p_ft seed 0: training", "p_ft seed 0: testing", "runs", "2/2", "ETA"):
        assert text in shown, text
    assert not progress.active()  # the display ended with the suite
    out = json.loads(capsys.readouterr().out)  # stdout still carries only the JSON summary
    assert [r["status"] for r in out["results"]] == ["ok", "ok"]


def test_quiet_or_a_pipe_shows_no_display(monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert progress.wanted(quiet=False) is False
    assert progress.wanted(quiet=True) is False
    with progress.live(3, enabled=False) as display:
        assert display is None and not progress.active()
        progress.stage("load")  # a no-op without a display


def test_lightning_bars_are_drawn_on_a_terminal_only(monkeypatch):
    # A SLURM log or a pipe gets rsbench's lines without --quiet, and never a bar.
    from rsbench.cli import engine_from_args, parser

    def engine(terminal: bool, *extra: str):
        monkeypatch.setattr("sys.stderr.isatty", lambda: terminal, raising=False)
        return engine_from_args(parser().parse_args(["run", "--model", "m", "--tasks", "t",
                                                     "--out", "o", *extra]))

    assert engine(True).progress is True
    assert engine(False).progress is False
    assert engine(True, "--quiet").progress is False
