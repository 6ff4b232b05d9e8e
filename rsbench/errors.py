"""The root of rsbench's own error types.

Every error that means "the input is wrong, here is what to do" derives from ``RsbenchError``,
so the command line can print it as one line while a bug elsewhere still shows its traceback
under ``--debug``. Subclasses keep their historic built-in bases (``ValueError``,
``FileNotFoundError``, ...) so existing ``except`` clauses go on catching them.
"""

from __future__ import annotations


class RsbenchError(Exception):
    """An error a person can act on; its message is one line naming the file or field."""


class UserError(RsbenchError, ValueError):
    """A command-line usage error: bad flags, overrides or names. Nothing has run yet."""


class SpecError(RsbenchError, ValueError):
    """A task spec or model card that cannot be used; the message names file and field."""


class MetricUndefined(RsbenchError):
    """A run finished but its primary metric has no value (e.g. nothing labelled to score)."""


class InputNotFound(RsbenchError, FileNotFoundError):
    """A file or folder the command was pointed at does not exist (the message names it)."""
