"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

A low-level module that imports nothing of rsbench, so that data/ and results/ can both use it.

The bytes go to a temporary file in the destination directory (same filesystem, so the rename
is atomic), are flushed and fsynced, and only then renamed over the destination with
``os.replace``. A process killed at any point leaves at most a stray temporary file, whose name
starts with ``.`` and ends with ``.tmp`` so that readers globbing ``*.json`` never see it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_path_for(path: Path) -> Path:
    """A fresh, hidden temporary name next to ``path``, unique across processes and threads."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def is_temp_file(path: Path) -> bool:
    """Whether ``path`` is one of our temporary files (never a finished document)."""
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on a crash; not every platform or filesystem allows
    # opening a directory, and the rename is already atomic without it, so failures are ignored.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably.

    Args:
        path: destination; its parent directories are created if missing.
        data: the complete file content.

    Returns:
        ``path``.

    Raises:
        OSError: if the write or the rename fails; the destination is then untouched and the
            temporary file removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    # os.open with 0o666 lets the umask decide the permissions, as for any ordinary file
    # (mkstemp would force 0600 and hide records from the rest of a shared project group).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))
