"""Hashes computed once per file version, remembered in the process and across processes.

A checkpoint's sha256 (about a minute for a 58 GB file) and a dataset's content fingerprint
(every image read once) are what records pin; a nightly array of hundreds of jobs over the
same files must not pay for them in every job. Each value is keyed by what identifies the
version of its input: resolved path, size, mtime and inode of every file. Once
``remember_in`` names a folder (``rsbench run`` uses its ``--cache-dir``), values are kept
there too, one small JSON file per key, written whole by rename so concurrent jobs never read
a torn entry. A damaged entry is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

_MEMORY: dict[str, str] = {}
_DISK: list[Path] = []  # at most one folder
# (path as given, device, inode) -> resolved path. ``Path.resolve`` costs an lstat per path
# component (about 30x a stat); a suite asks for the version of each image once per task and
# check, so the resolution is remembered. The stat is still made every time: a path that now
# reaches another file (a moved symlink, a replaced file) has another inode and is resolved again.
_RESOLVED: dict[tuple[str, int, int], str] = {}


def remember_in(folder: str | Path | None) -> None:
    """Keep values under ``folder/hashes/`` from now on (None: in this process only)."""
    _DISK[:] = [Path(folder) / "hashes"] if folder is not None else []


def forget_in_memory() -> None:
    """Drop the in-process values (what a new process starts with)."""
    _MEMORY.clear()
    _RESOLVED.clear()


def file_version(path: str | Path) -> tuple[str, int, int, int]:
    """What identifies one version of a file: resolved path, size, mtime and inode."""
    stat = os.stat(path)
    given = (os.fspath(path), stat.st_dev, stat.st_ino)
    resolved = _RESOLVED.get(given)
    if resolved is None:
        resolved = _RESOLVED[given] = str(Path(path).resolve())
    return (resolved, stat.st_size, stat.st_mtime_ns, stat.st_ino)


def key_of(kind: str, parts) -> str:
    """A short stable key for ``kind`` (e.g. ``"sha256"``) of ``parts``."""
    return hashlib.sha256(repr((kind, parts)).encode()).hexdigest()[:32]


def lookup(key: str) -> str | None:
    """The value kept for ``key`` in memory or on disk, if any."""
    if key in _MEMORY:
        return _MEMORY[key]
    if not _DISK:
        return None
    try:
        data = json.loads((_DISK[0] / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    value = data.get("value") if isinstance(data, dict) else None
    if isinstance(value, str):
        _MEMORY[key] = value
        return value
    return None


def store(key: str, value: str, on_disk: bool = True) -> str:
    """Remember ``value`` for ``key`` in memory, and on disk when a folder is set and
    ``on_disk`` (callers that remember a whole set of files at once pass False per file)."""
    _MEMORY[key] = value
    if _DISK and on_disk:
        folder = _DISK[0]
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"value": value}))
        os.replace(tmp, folder / f"{key}.json")
    return value


def file_sha256(path: str | Path, on_disk: bool = True) -> str:
    """Hex sha256 of one file's bytes, computed once per file version (see ``store``)."""
    path = Path(path)
    key = key_of("sha256", file_version(path))
    found = lookup(key)
    if found is not None:
        return found
    with path.open("rb") as f:
        return store(key, hashlib.file_digest(f, "sha256").hexdigest(), on_disk)
