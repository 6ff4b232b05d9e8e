"""Errors a person can act on: what is missing, where it should be, how to get it."""

from __future__ import annotations

import os
from pathlib import Path

from torchgeo.datasets import DatasetNotFoundError

from rsbench.errors import RsbenchError


class DatasetNotFound(RsbenchError, DatasetNotFoundError):
    """A dataset is not where it should be; the one-line message says where and how to get it.

    Subclasses torchgeo's ``DatasetNotFoundError`` (itself a ``FileNotFoundError``) so callers
    can catch either, but takes a ready message instead of a dataset object.
    """

    def __init__(self, message: str) -> None:
        # Skip torchgeo's __init__, which builds its own message from a dataset instance.
        FileNotFoundError.__init__(self, message)


class SplitConflict(RsbenchError, RuntimeError):
    """A split file already exists with different content: the dataset changed under it."""


class SplitSpecError(RsbenchError, ValueError):
    """A ``dataset.split`` mapping that cannot be used; the message names the field."""


class PrepareError(RsbenchError, ValueError):
    """``rsbench data prepare`` options that cannot be used (a bad patch, stride, overlap,
    variant option or ``--tiles`` name); the message names the option. Nothing is written."""


class TorchGeoMismatch(RsbenchError, RuntimeError):
    """The installed torchgeo lacks a dataset class or attribute rsbench reads its metadata
    (class lists, file names, URLs, md5s) from; the message names it and the version needed."""


class DataError(RsbenchError, ValueError):
    """Files a run would read are missing, unreadable or wrong (bands, size, label values), or
    fewer than its split lists; the one-line message names them and says what to do."""


def named(items: list[str], shown: int = 3) -> str:
    """The first ``shown`` of ``items`` and how many there are, for one-line messages:
    ``a, b, c and 4 more (7)``; a single item is just itself."""
    head = ", ".join(items[:shown])
    if len(items) <= shown:
        return head if len(items) == 1 else f"{head} ({len(items)})"
    return f"{head} and {len(items) - shown} more ({len(items)})"


def unreadable(path: Path, err: BaseException, todo: str) -> DataError:
    """One line for a file that does not decode: which file, the decoder's reason, what to do."""
    reason = " ".join(str(err).split()).replace(str(path), Path(path).name)
    return DataError(f"{path}: truncated or corrupt ({type(err).__name__}: {reason}); {todo}")


def found_elsewhere(root: Path, suffix: str, depth: int = 4) -> str:
    """``" (found N <suffix> files under X: move them there)"`` for the folder within ``depth``
    levels of ``root`` holding most such files (an extra or renamed level), else ``""``."""
    counts: dict[Path, int] = {}
    for folder, dirs, files in os.walk(root):
        if len(Path(folder).relative_to(root).parts) >= depth:
            dirs[:] = []
        n = sum(f.lower().endswith(suffix) for f in files)
        if n:
            counts[Path(folder)] = n
    if not counts:
        return ""
    best = max(counts, key=lambda f: (counts[f], str(f)))
    return f" (found {counts[best]} {suffix} files under {best}: move them there)"
