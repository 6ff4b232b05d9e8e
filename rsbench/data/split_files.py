"""Split files: every split a run uses is written, hashed and pinned in its record.

A split file is JSON with sorted keys, one ``[path, label]`` pair per line, paths relative to the
dataset root, so the same split written on any machine is byte-identical and has the same
sha256. Its name encodes dataset and split parameters; if a file of that name exists with other
bytes, the dataset changed under the split and :class:`SplitConflict` says so instead of
silently replacing the split earlier records were scored on.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from rsbench import hashcache
from rsbench.atomic_io import atomic_write_bytes
from rsbench.data.base import Sample
from rsbench.data.errors import DataError, SplitConflict, named
from rsbench.data.splits import SplitSpec

FORMAT = "rsbench-split/1"
SPLIT_NAMES = ("train", "val", "test")


def split_bytes(dataset: str, spec: SplitSpec, classes: list[str],
                assignment: dict[str, list[Sample]]) -> bytes:
    """The canonical bytes of a split file."""
    head = {"format": FORMAT, "dataset": dataset, "split": spec.to_dict(), "classes": classes,
            "counts": {s: len(assignment[s]) for s in SPLIT_NAMES}}
    entries = [f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(head.items())]
    for name in SPLIT_NAMES:
        rows = ",\n".join(f"  {json.dumps([p, label])}" for p, label in assignment[name])
        entries.append(f"{json.dumps(name)}: [\n{rows}\n]" if rows else f"{json.dumps(name)}: []")
    return ("{\n" + ",\n".join(entries) + "\n}\n").encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def write_split_file(split_dir: Path, stem: str, data: bytes,
                     root: Path | None = None) -> tuple[Path, str]:
    """Write (or reuse) ``<split_dir>/<stem>.json``; returns its path and sha256.

    Raises:
        SplitConflict: the file exists with different content.
    """
    path = Path(split_dir) / f"{stem}.json"
    digest = sha256_bytes(data)
    if path.exists():
        old = sha256_bytes(path.read_bytes())
        if old == digest:
            return path, digest
        where = f" at {root}" if root is not None else ""
        raise SplitConflict(
            f"split file {path} exists with different content (sha256 {old[:12]}, now "
            f"{digest[:12]}): the dataset{where} changed since the split was written; restore "
            f"the data, or move the old split file away to make a new split (records scored on "
            f"the old one keep its hash)"
        )
    atomic_write_bytes(path, data)
    return path, digest


def read_split_file(path: Path) -> dict[str, list[Sample]]:
    """The ``train``/``val``/``test`` samples of a split file."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {name: [(p, int(label)) for p, label in doc[name]] for name in SPLIT_NAMES}


def dataset_fingerprint(root: Path, paths: list[str]) -> str:
    """sha256 over sorted ``relative path<TAB>byte size<TAB>content sha256`` lines.

    It changes when a file is added, removed, renamed or rewritten in any way, including a
    same-size rewrite of an uncompressed TIFF. The value is remembered per version of the whole
    file set (every file's path, size, mtime and inode; ``rsbench.hashcache``), so a re-run, in
    this process or another, only stats the files instead of reading them.
    """
    rels = sorted(paths)
    try:
        versions = [hashcache.file_version(os.path.join(root, rel)) for rel in rels]  # no Path each
    except FileNotFoundError:  # all of them named, before anything reads them
        missing = [rel for rel in rels if not (root / rel).is_file()]
        raise DataError(f"dataset at {root}: {len(missing)} file(s) the split uses are missing: "
                        f"{named(missing)}; restore them (re-extract the archive or prepare "
                        f"the dataset again) and run again; nothing was trained") from None
    key = hashcache.key_of("dataset_fingerprint", (str(root), rels, versions))
    found = hashcache.lookup(key)
    if found is not None:
        return found
    h = hashlib.sha256()
    for rel, version in zip(rels, versions, strict=True):
        digest = hashcache.file_sha256(root / rel, on_disk=False)  # the set is kept whole
        h.update(f"{rel}\t{version[1]}\t{digest}\n".encode())
    return hashcache.store(key, h.hexdigest())


def pinned_split(dataset: str, split, classes: list[str], assignment: dict, split_dir: Path,
                 root: Path, used: list[str]) -> dict:
    """Write (or reuse) the split file of ``assignment`` and fingerprint the ``used`` files:
    the ``split_file``, ``split_hash`` and ``fingerprint`` every data bundle carries."""
    data = split_bytes(dataset, split, classes, assignment)
    split_file, split_hash = write_split_file(split_dir, split.file_stem(dataset), data, root)
    return {"split_file": split_file, "split_hash": split_hash,
            "fingerprint": dataset_fingerprint(root, used)}
