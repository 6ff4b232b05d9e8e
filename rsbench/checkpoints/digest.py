"""Content hashes of checkpoint files and folders, computed once per process per file version.

Records name the exact weights they scored by sha256. A folder checkpoint (a DCP directory, a
Hugging Face ``save_pretrained`` folder) is hashed as a ``sha256sum``-style manifest: one line
``<sha256 of file>  <relative posix path>`` per file, sorted by path, and the manifest hashed.
Tool caches and version control inside the folder are skipped; DCP's hidden ``.metadata`` is not.
Hashing a tens-of-GB file takes about a minute, so digests are cached by (path, size, mtime,
inode): in the process, and — once ``remember_digests_in`` names a folder (``rsbench run`` uses
its ``--cache-dir``) — on disk, one small JSON file per file version, written atomically, so the
hundreds of jobs of a nightly array over the same checkpoint pay for the hash once.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from rsbench.checkpoints.safe_load import CheckpointError

SKIPPED_DIRS = frozenset({".git", ".cache", "__pycache__"})
_CACHE: dict[tuple[str, int, int, int], str] = {}
_DISK: list[Path] = []  # at most one folder: where digests persist across processes


def remember_digests_in(folder: str | Path | None) -> None:
    """Keep digests under ``folder/sha256/`` from now on (None: in this process only)."""
    _DISK[:] = [Path(folder) / "sha256"] if folder is not None else []


def version_key(path: Path) -> tuple[str, int, int, int]:
    """What identifies one version of a file: resolved path, size, mtime and inode."""
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


def entry_path(key: tuple[str, int, int, int]) -> Path:
    """The on-disk cache entry of one file version."""
    return _DISK[0] / f"{hashlib.sha256(repr(key).encode()).hexdigest()[:32]}.json"


def stored_digest(key: tuple[str, int, int, int]) -> str | None:
    """The digest kept on disk for this file version, if any (a damaged entry counts as none)."""
    if not _DISK:
        return None
    entry = entry_path(key)
    try:
        data = json.loads(entry.read_text())
    except (OSError, ValueError):
        return None
    return data.get("sha256") if data.get("key") == list(key) else None


def store_digest(key: tuple[str, int, int, int], digest: str) -> None:
    """Keep ``digest`` on disk for this file version; concurrent writers each rename whole."""
    if not _DISK:
        return
    entry = entry_path(key)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": list(key), "sha256": digest}))
    os.replace(tmp, entry)


def single_file_sha256(path: Path) -> str:
    """Hex sha256 of one file's bytes, cached while the file version is unchanged."""
    key = version_key(path)
    if key not in _CACHE:
        digest = stored_digest(key)
        if digest is None:
            with path.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            store_digest(key, digest)
        _CACHE[key] = digest
    return _CACHE[key]


def folder_files(root: Path) -> list[Path]:
    """Every file under ``root`` (symlinked files followed, as Hub snapshots use them), sorted."""
    files = []
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
