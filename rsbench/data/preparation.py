"""The one preparation driver: a raw release cut unit by unit into files with a sha256 manifest.

ISPRS (tiles), iSAID (scenes), DOTA and xView (images) each plug in one function,
``cut(*job) -> (files, facts)``, that writes the patches or tiles of one raw unit under ``dst``
and returns ``{relative path: sha256}`` and that unit's facts. The driver, for all of them:

1. drops an older preparation: the files its manifest lists under the dataset's output
   folders, then the manifest itself (so stale patches of other parameters never linger);
2. marks the folder ``UNFINISHED``: readers refuse a marked folder, and a folder without a
   manifest reads as unprepared;
3. runs the cuts, in ``workers`` processes when above 1, and gathers them in job order (each
   cut writes only its own files, so any number of workers gives the same bytes);
4. writes ``manifest.json`` atomically (canonical JSON of format ``MANIFEST_FORMAT``, no times,
   no absolute paths: the same raw data gives the same bytes anywhere), then clears the mark.

``choose_units`` reads ``--tiles``: the units to prepare for a smoke test, and whether that is
a subset (each manifest says so). Patches are written by ``write_png`` / ``write_bytes``: plain
writes without fsync (thousands of them), made safe by the manifest coming atomically last.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io
import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple, TypeVar

import numpy as np
from PIL import Image

from rsbench.atomic_io import atomic_write_bytes
from rsbench.data.errors import DatasetNotFound, PrepareError
from rsbench.registry import Registry

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "rsbench-prepared/2"
#: Written first and removed last by ``rsbench data prepare``: a folder holding it was left
#: half-written by a preparation that failed, and is never read as a dataset.
UNFINISHED = "PREPARATION_UNFINISHED"
class Preparer(NamedTuple):
    """How ``rsbench data prepare`` cuts one dataset's raw release."""

    task_type: str
    target: str  # "module:function" that prepares it
    leading: tuple[str, ...]  # the arguments it takes before ``src`` and ``dst``


#: Datasets whose raw release ``rsbench data prepare`` cuts.
PREPARERS = Registry.of("preparable dataset", {
    "potsdam": Preparer("segmentation", "rsbench.data.segmentation.prepare:prepare_isprs",
                        ("potsdam",)),
    "vaihingen": Preparer("segmentation", "rsbench.data.segmentation.prepare:prepare_isprs",
                          ("vaihingen",)),
    "isaid": Preparer("segmentation", "rsbench.data.segmentation.isaid_prepare:prepare_isaid", ()),
    "dota": Preparer("detection", "rsbench.data.detection.prepare:prepare_dota", ()),
    "xview": Preparer("detection", "rsbench.data.detection.xview_prepare:prepare_xview", ()),
})
Cut = tuple[dict[str, str], dict]
"""What one unit's cut returns: ``({relative path: sha256}, facts)``."""
U = TypeVar("U")


def patch_positions(length: int, patch: int, stride: int) -> list[int]:
    """Start offsets every ``stride`` px, the last one ending at the edge (a true sliding grid,
    as mmseg's iSAID converter and DOTA's splitter use; not the ISPRS converters' grid).

    ``length <= patch`` gives ``[0]``. e.g. 1100 / 512 / 256 gives ``[0, 256, 512, 588]``.
    """
    if patch <= 0 or stride <= 0:
        raise PrepareError(f"patch and stride must be positive, got {patch} and {stride}")
    if length <= patch:
        return [0]
    steps = math.ceil((length - patch) / stride)
    return [min(i * stride, length - patch) for i in range(steps + 1)]


def png_bytes(arr: np.ndarray) -> bytes:
    """PNG bytes of a uint8 ``[H, W]`` or ``[H, W, 3]`` array: no metadata, fixed compression,
    so the same pixels give the same bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def write_bytes(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` (parents created; a plain write, see the module docstring);
    returns its sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def write_png(path: Path, arr: np.ndarray) -> str:
    """Write ``arr`` as a deterministic PNG (:func:`png_bytes`); returns the file's sha256."""
    return write_bytes(path, png_bytes(arr))


def begin_preparation(dst: Path) -> None:
    """Mark ``dst`` as being prepared (see ``UNFINISHED``); ``end_preparation`` clears it."""
    Path(dst).mkdir(parents=True, exist_ok=True)
    (Path(dst) / UNFINISHED).write_text("rsbench data prepare did not finish here; run it again\n")


def end_preparation(dst: Path) -> None:
    """Clear the mark once the manifest is written."""
    (Path(dst) / UNFINISHED).unlink(missing_ok=True)


def refuse_unfinished(root: Path, name: str) -> None:
    """Refuse a folder a failed preparation left half-written (its patches are partial).

    Raises:
        DatasetNotFound: one line naming the folder and the command to run again.
    """
    if (Path(root) / UNFINISHED).exists():
        raise DatasetNotFound(f"{root}: an earlier `rsbench data prepare {name}` stopped before "
                              f"it finished ({UNFINISHED} is there), so its patches are partial; "
                              f"fix what it reported and run it again")


def read_manifest_files(root: Path) -> dict[str, str] | None:
    """The ``files`` of ``root/manifest.json``, or None when the root is not prepared."""
    manifest = Path(root) / MANIFEST
    if not manifest.is_file():
        return None
    files: dict[str, str] = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
    return files


def remove_listed(dst: Path, outputs: Sequence[str]) -> None:
    """Delete the files an earlier manifest under ``dst`` lists inside the ``outputs`` folders
    (nothing else, whatever the manifest says), then the manifest."""
    manifest = Path(dst) / MANIFEST
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        except (ValueError, AttributeError):
            files = {}
        for rel in files if isinstance(files, dict) else ():
            parts = PurePosixPath(rel).parts
            if parts and parts[0] in outputs and ".." not in parts:
                (Path(dst) / rel).unlink(missing_ok=True)
    manifest.unlink(missing_ok=True)


def choose_units(units: list[U], names: list[str] | None, name_of: Callable[[U], str],
                 what: str) -> tuple[list[U], bool]:
    """The units named in ``names`` (``--tiles``; all when None) and whether that is a subset.

    Raises:
        PrepareError: a name that is not one of the units' (``what`` says what they are), or
            an empty list.
    """
    if names is None:
        return units, False
    known = [name_of(unit) for unit in units]
    unknown = sorted(set(names) - set(known))
    if unknown or not names:
        example = ", ".join(dict.fromkeys(known[:1] + known[-1:]))
        raise PrepareError(f"--tiles: {', '.join(unknown) or 'empty'} not {what}; e.g. {example}")
    chosen = [unit for unit, name in zip(units, known, strict=True) if name in set(names)]
    return chosen, len(chosen) < len(units)


def run_cuts(cut: Callable[..., Cut], jobs: Sequence[tuple], workers: int) -> list[Cut]:
    """``cut(*job)`` for every job, in job order, in ``workers`` processes when above 1."""
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(cut, *zip(*jobs, strict=True)))
    return [cut(*job) for job in jobs]


def cut_units(dst: Path, cut: Callable[..., Cut], jobs: dict[str, tuple], workers: int,
              outputs: Sequence[str]) -> tuple[dict[str, str], dict[str, dict]]:
    """Steps 1-3 of the module docstring: ``(files, facts by unit)`` of ``cut`` over ``jobs``.

    Args:
        dst: the prepared dataset root.
        cut: writes one unit's files (see the module docstring).
        jobs: unit name -> the arguments of its cut, in the order the manifest lists them.
        workers: processes cutting in parallel.
        outputs: the top-level folders under ``dst`` the cuts write into.
    """
    remove_listed(dst, outputs)
    begin_preparation(dst)  # a failure below leaves the folder marked, never read
    files: dict[str, str] = {}
    facts: dict[str, dict] = {}
    for unit, (unit_files, unit_facts) in zip(jobs, run_cuts(cut, list(jobs.values()), workers),
                                              strict=True):
        files.update(unit_files)
        facts[unit] = unit_facts
    return files, facts


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The canonical bytes of a manifest (format first in meaning, keys sorted, one-space indent)."""
    return (json.dumps({"format": MANIFEST_FORMAT, **manifest}, indent=1, sort_keys=True)
            + "\n").encode("utf-8")


def finish_preparation(dst: Path, manifest: dict[str, Any]) -> str:
    """Step 4: write ``dst/manifest.json`` atomically, clear the mark; returns its sha256."""
    data = manifest_bytes(manifest)
    atomic_write_bytes(Path(dst) / MANIFEST, data)
    end_preparation(dst)
    return hashlib.sha256(data).hexdigest()


def preparable(task_type: str) -> list[str]:
    """The datasets of ``task_type`` that ``rsbench data prepare`` cuts, sorted."""
    return [name for name in PREPARERS if PREPARERS.get(name).task_type == task_type]


def prepare_raw(task_type: str, name: str, src: Path, dst: Path, **options: Any) -> dict:
    """Prepare dataset ``name`` of ``task_type`` from ``src`` into ``dst``; returns its summary.

    Raises:
        PrepareError: a dataset that needs no preparation or is unknown (lists those that
            do), or an option its preparation does not take, e.g. ``--variant`` for xView.
    """
    known = preparable(task_type)
    if name not in known:
        what = "detection dataset" if task_type == "detection" else "dataset"
        raise PrepareError(f"{what} {name!r} needs no preparation or is unknown "
                           f"(preparable: {', '.join(known)})")
    _, target, leading = PREPARERS.get(name)
    module, _, function = target.partition(":")
    prepare = getattr(importlib.import_module(module), function)
    unknown = sorted(set(options) - set(inspect.signature(prepare).parameters))
    if unknown:
        raise PrepareError(f"{', '.join(unknown)}: not an option of preparing {name}")
    return prepare(*leading, Path(src), Path(dst), **options)
