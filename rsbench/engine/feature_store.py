"""Pooled features per image, shared by every task, split, fraction and protocol that reads it.

A frozen protocol's floor is one backbone pass per distinct image. Features are therefore kept
per image, not per split: UC Merced's 8:2 and 5:5 splits, its seven label fractions and its kNN
and linear-probe tasks all read the same 2,100 images and so the same 2,100 rows.

Layout: ``<cache>/features/<space>/`` holds the features of one *feature space*: everything
that determines a feature except the image (checkpoint sha256, arch and overrides, pooling,
input spec, precision, reader and bands, resize, extraction format). Inside, each extraction
writes one chunk ``chunk-<hash>.pt`` (``{"ids": [...], "x": float32 [N, D]}``) atomically by
rename, so concurrent SLURM jobs never see a torn file and two jobs extracting the same images
merely write the same rows twice. Reading memory-maps every chunk and gathers the rows a split
needs. An image is identified by its resolved path, size and mtime: any change is a miss.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

from rsbench import hashcache
from rsbench.config import spec_hash
from rsbench.data.rows import SEP, row_key, split_row

FORMAT = 2  # bump when extraction changes (pooling, dtype), invalidating every stored row


def image_id(path: str | Path) -> str:
    """What identifies one version of an image: ``resolved path|size|mtime`` of its file (a
    row of a container file: the container's resolved path with the row, that file's version)."""
    text = os.fspath(path)  # a plain file needs no Path: a suite asks this of every sample
    file, row = (text, None) if SEP not in text else split_row(Path(text))
    resolved, size, mtime, _ = hashcache.file_version(file)  # one stat; the resolve is kept
    return f"{resolved if row is None else row_key(resolved, row)}|{size}|{mtime}"


def id_path(image: str) -> str:
    """The resolved path (or container row) an :func:`image_id` names."""
    return image.rsplit("|", 2)[0]


class FeatureStore:
    """The chunks of one feature space, read lazily and memory-mapped."""

    def __init__(self, root: Path, space: dict) -> None:
        self.space = space
        self.dir = Path(root) / "features" / spec_hash({"format": FORMAT, **space})[:24]
        self._rows: dict[str, tuple[int, int]] | None = None
        self._chunks: list[torch.Tensor] = []

    def rows(self) -> dict[str, tuple[int, int]]:
        """``image id -> (chunk, row)`` over every readable chunk (torn or foreign ones skipped)."""
        if self._rows is None:
            self._rows, self._chunks = {}, []
            for path in sorted(self.dir.glob("chunk-*.pt")):
                try:
                    blob = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
                    ids, x = list(blob["ids"]), blob["x"]
                except Exception:  # a cache file that cannot be read is a miss, not a failure
                    continue
                if len(ids) != len(x):
                    continue
                for row, key in enumerate(ids):
                    self._rows.setdefault(key, (len(self._chunks), row))
                self._chunks.append(x)
        return self._rows

    def missing(self, ids: list[str]) -> list[str]:
        """The ids with no stored row, in first-seen order, each once."""
        rows = self.rows()
        return list(dict.fromkeys(i for i in ids if i not in rows))

    def gather(self, ids: list[str]) -> torch.Tensor:
        """float32 ``[len(ids), D]``: the stored rows of ``ids``, in order."""
        rows = self.rows()
        if not ids:
            width = self._chunks[0].shape[1] if self._chunks else 0
            return torch.empty(0, width)
        where = torch.tensor([rows[i] for i in ids])  # [N, 2]: chunk, row
        out = torch.empty(len(ids), self._chunks[0].shape[1])
        for c in where[:, 0].unique().tolist():
            mask = where[:, 0] == c
            out[mask] = self._chunks[c].index_select(0, where[mask, 1]).float()
        return out

    def add(self, ids: list[str], x: torch.Tensor, write: bool = True) -> Path:
        """Rows ``x`` for ``ids``: usable at once, and stored as one new chunk, written whole,
        when ``write`` (under DDP only one rank writes what all of them hold)."""
        rows = self.rows()
        for row, key in enumerate(ids):
            rows.setdefault(key, (len(self._chunks), row))
        self._chunks.append(x.float())
        final = self.dir / f"chunk-{hashlib.sha256(chr(10).join(ids).encode()).hexdigest()[:16]}.pt"
        if write:
            atomic_torch_save({"ids": list(ids), "x": x.float().contiguous(), "space": self.space},
                              final)
        return final


def atomic_torch_save(obj, final: Path) -> Path:
    """``torch.save`` to ``final`` through a temporary file and a rename: never half-written."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return final


def store_report(root: Path) -> list[dict]:
    """One row per feature space under ``root``: images, chunks and bytes (``rsbench cache ls``)."""
    out = []
    for space in sorted((Path(root) / "features").glob("*/")):
        chunks = sorted(space.glob("chunk-*.pt"))
        ids: set[str] = set()
        for path in chunks:
            try:
                ids.update(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["ids"])
            except Exception:
                continue
        out.append({"space": space.name, "images": len(ids), "chunks": len(chunks),
                    "bytes": sum(p.stat().st_size for p in space.iterdir() if p.is_file())})
    return out


def pruned(root: Path, older_than_days: float | None = None) -> list[Path]:
    """Remove feature spaces (and per-split entries) not written for ``older_than_days``
    (all of them when None); returns what was removed. Records are never touched."""
    import shutil
    import time

    folder = Path(root) / "features"
    cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
    removed = []
    for entry in sorted(folder.glob("*")) if folder.is_dir() else []:
        newest = max((p.stat().st_mtime for p in entry.rglob("*")), default=entry.stat().st_mtime) \
            if entry.is_dir() else entry.stat().st_mtime
        if cutoff is not None and newest >= cutoff:
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        removed.append(entry)
    return removed
