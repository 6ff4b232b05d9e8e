"""rsbench's own lines for people, all on stderr so that stdout stays machine-readable.

Four kinds: :func:`log` is progress (what runs, each score, a resume) and :func:`note` advice
about an accepted input, both hidden by ``--quiet``;
:func:`warn` is a failure or refusal a person must see (a run's FAILED line, how many runs
failed, a requeue that did not happen), shown always; :func:`error` is a one-line user error,
shown always. ``--quiet`` is read once per command by ``cli.main`` (:func:`quiet_while`);
live progress displays are a separate matter, shown only on an interactive stderr
(:func:`interactive`), so a SLURM log or a pipe keeps every line and redraws nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

PREFIX = "[rsbench] "
NOTE_PREFIX = "rsbench: note: "
ERROR_PREFIX = "rsbench: error: "

_quiet = False


def quiet() -> bool:
    """Whether progress lines are hidden (``--quiet``)."""
    return _quiet


@contextmanager
def quiet_while(flag: bool) -> Iterator[None]:
    """Hide progress lines while the block runs when ``flag``; the previous setting returns
    after it, so one command's ``--quiet`` never reaches the next command in the same process."""
    global _quiet
    previous, _quiet = _quiet, flag
    try:
        yield
    finally:
        _quiet = previous


def interactive() -> bool:
    """Whether stderr is a terminal, the only place a progress bar is drawn."""
    return sys.stderr.isatty()


def emit(line: str) -> None:
    """One line on stderr, flushed at once so it sits in order with other processes' output."""
    print(line, file=sys.stderr, flush=True)


def log(message: str) -> None:
    """A progress line (``[rsbench] ...``); nothing under ``--quiet``."""
    if not _quiet:
        emit(PREFIX + message)


def note(message: str) -> None:
    """Advice about an input that is accepted (``rsbench: note: ...``); nothing under ``--quiet``."""
    if not _quiet:
        emit(NOTE_PREFIX + message)


def warn(message: str) -> None:
    """A failure or refusal (``[rsbench] ...``), shown even under ``--quiet``."""
    emit(PREFIX + message)


def error(message: str) -> None:
    """A user error, one ``rsbench: error: ...`` line per line of ``message``."""
    for line in message.splitlines() or [message]:
        emit(ERROR_PREFIX + line)
