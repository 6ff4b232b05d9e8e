"""Samples that are rows of one container file: the ``<file>.h5#<row>`` key of So2Sat's HDF5.

Every other dataset has one file per sample, and the code that fingerprints, pre-flights and
caches features identifies a sample by its file. A row key names the row of a container file;
:func:`container` gives the file to stat, hash or check, so those places need one call and no
knowledge of the format.
"""

from __future__ import annotations

from pathlib import Path

#: Separates the container file from the row index in a sample key.
SEP = "#"
#: Suffixes of the container files whose rows are samples.
CONTAINERS = (".h5", ".hdf5")


def row_key(rel: str, row: int) -> str:
    """The sample key of row ``row`` of the container file ``rel``."""
    return f"{rel}{SEP}{int(row)}"


def split_row(path: Path) -> tuple[Path, int | None]:
    """``(container file, row)`` of a row key; ``(path, None)`` for any other path."""
    file, sep, row = Path(path).name.rpartition(SEP)
    if sep and row.isdigit() and file.lower().endswith(CONTAINERS):
        return Path(path).with_name(file), int(row)
    return Path(path), None


def container(path: Path) -> Path:
    """The file holding the sample at ``path``: the path itself, or the container of a row key."""
    return split_row(path)[0]


def container_rel(rel: str) -> str:
    """:func:`container` of a root-relative POSIX sample path, as a root-relative POSIX path."""
    return container(Path(rel)).as_posix()
