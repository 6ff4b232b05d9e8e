"""One live display per ``rsbench run`` on a terminal: the runs done with an ETA, and the
current run's stage (load, pre-flight, features, heads, training with its steps, scoring).

Only on an interactive stderr and without ``--quiet``: in a SLURM log or a pipe the run prints
its ``[rsbench]`` lines (rsbench.console) and nothing redraws. :func:`wanted` decides for
Lightning's own bar too (``EngineOptions.progress``). The display is process-wide, as the terminal
is: protocols report stages with :func:`stage` and training steps reach it through
:func:`lightning_callback`, which replaces Lightning's own bar while the display is live (rich
allows one live display at a time).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

_live: SuiteProgress | None = None


class SuiteProgress:
    """The live display of one suite: ``total`` runs to do."""

    def __init__(self, total: int, console: Any = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console or default_console()
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            console=self.console, transient=False, redirect_stdout=False)
        self.runs = self.bar.add_task("runs", total=total)
        self.current = self.bar.add_task("", total=None, visible=False)
        self.label = ""

    def start_run(self, label: str) -> None:
        self.label = label
        self.stage("load")

    def stage(self, name: str, total: int | None = None) -> None:
        self.bar.reset(self.current, total=total, description=f"{self.label}: {name}", visible=True)

    def advance(self, steps: int = 1) -> None:
        self.bar.advance(self.current, steps)

    def end_run(self) -> None:
        self.bar.advance(self.runs)
        self.bar.update(self.current, visible=False)


def default_console():
    """rich's console on stderr (where every rsbench line goes; stdout carries JSON)."""
    from rich.console import Console

    return Console(stderr=True)


def wanted(quiet: bool) -> bool:
    """Whether progress bars are drawn: on an interactive stderr, unless ``--quiet``."""
    from rsbench.console import interactive

    return not quiet and interactive()


@contextmanager
def live(total: int, enabled: bool, console: Any = None):
    """The suite's display while the block runs (``None`` when not ``enabled``)."""
    global _live
    if not enabled or total == 0:
        yield None
        return
    display = SuiteProgress(total, console)
    _live = display
    try:
        with display.bar:
            yield display
    finally:
        _live = None


def active() -> bool:
    return _live is not None


def stage(name: str, total: int | None = None) -> None:
    """Report the current run's stage; nothing happens without a live display."""
    if _live is not None:
        _live.stage(name, total)


def lightning_callback():
    """A Lightning callback feeding training steps to the live display."""
    import lightning as L

    class Steps(L.Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else \
                trainer.estimated_stepping_batches
            stage("training", int(total) if total and total != float("inf") else None)

        def on_train_batch_end(self, trainer, *args) -> None:
            if _live is not None:
                _live.advance()

    return Steps()
