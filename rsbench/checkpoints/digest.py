"""Content hashes of checkpoint files and folders, computed once per process per file version.

Records name the exact weights they scored by sha256. A folder checkpoint (a DCP directory, a
Hugging Face ``save_pretrained`` folder) is hashed as a ``sha256sum``-style manifest: one line
``<sha256 of file>  <relative posix path>`` per file, sorted by path, and the manifest hashed.
Tool caches and version control inside the folder are skipped; DCP's hidden ``.metadata`` is not.
Hashing a tens-of-GB file takes about a minute, so digests are computed once per file version
and remembered across processes (``rsbench.hashcache``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from rsbench import hashcache
from rsbench.checkpoints.safe_load import CheckpointError

SKIPPED_DIRS = frozenset({".git", ".cache", "__pycache__"})


def single_file_sha256(path: Path) -> str:
    """Hex sha256 of one file's bytes, once per file version (``rsbench.hashcache``)."""
    return hashcache.file_sha256(path)


def folder_files(root: Path) -> list[Path]:
    """Every file under ``root`` (symlinked files followed, as Hub snapshots use them), sorted."""
    files: list[Path] = []
    for here, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        files.extend(Path(here) / n for n in names if (Path(here) / n).is_file())
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def manifest(root: Path) -> str:
    """``sha256sum``-style lines for every file of ``root``, sorted by relative path."""
    return "".join(f"{single_file_sha256(p)}  {p.relative_to(root).as_posix()}\n"
                   for p in folder_files(root))


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a checkpoint file, or of a folder's manifest (see the module docstring).

    Raises:
        CheckpointError: the path does not exist, or is a folder without files.
    """
    path = Path(path)
    if path.is_file():
        return single_file_sha256(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such file or directory")
    text = manifest(path)
    if not text:
        raise CheckpointError(f"{path}: empty directory, no checkpoint files to hash")
    return hashlib.sha256(text.encode()).hexdigest()
