"""The result store: a directory of run records, one file per set of inputs.

Layout: ``<root>/<model>/<task>/seed<k>-<record_id>.json``. The file name carries the hash of
the run's inputs, so asking "is this run done?" is one ``stat`` and a re-run overwrites its
own record instead of adding a second one. Writes are atomic (see :mod:`.atomic`), so many
processes (a SLURM array, say) can write distinct records into one root at once, and a job
killed mid-write leaves no half record behind. Unreadable files are skipped with a warning and
never returned as records.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

from rsbench.atomic_io import atomic_write_text, is_temp_file
from rsbench.results.record import RecordError, load_record, record_id, validate_record

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class RecordWarning(UserWarning):
    """A record file that exists but cannot be used (corrupt, partial, edited, misplaced)."""


def safe_name(name: object) -> str:
    """``name`` reduced to filename-safe characters (``[A-Za-z0-9._-]``, others become ``_``).

    Leading dots are replaced too, so a name can be neither hidden nor ``..``. Distinct names
    may map to one folder (``timm:vit`` and ``timm_vit``); the record id in the file name
    still keeps their records apart.
    """
    cleaned = _UNSAFE.sub("_", str(name)).strip("_") or "_"
    return "_" + cleaned[1:] if cleaned.startswith(".") else cleaned


def _sort_key(record: dict) -> tuple:
    return (
        record["model"]["name"],
        record["task"]["name"],
        record["seed"],
        record["created"],
        record["record_id"],
    )


class ResultStore:
    """Run records under one root directory.

    Args:
        root: the results directory; created on the first write.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    def path_for(self, inputs: dict) -> Path:
        """Where the record of the run with these ``inputs`` lives (whether or not it exists)."""
        model = safe_name(inputs["model"]["name"])
        task = safe_name(inputs["task"]["name"])
        return (
            self.root / model / task / f"seed{safe_name(inputs['seed'])}-{record_id(inputs)}.json"
        )

    def get(self, inputs: dict) -> dict | None:
        """The valid record for ``inputs``, or ``None`` if absent or unusable (with a warning)."""
        path = self.path_for(inputs)
        if not path.exists():
            return None
        record = self._read(path)
        if record is not None and record["record_id"] != record_id(inputs):
            warnings.warn(
                f"{path}: holds record {record['record_id']}, not {record_id(inputs)}; "
                "treated as absent",
                RecordWarning,
                stacklevel=2,
            )
            return None
        return record

    def done(self, inputs: dict, retry_failed: bool = False) -> bool:
        """Whether the run needs no (re)doing: an ok record exists, or a failed one and
        ``retry_failed`` is false."""
        record = self.get(inputs)
        if record is None:
            return False
        return record["status"] == "ok" or not retry_failed

    def write(self, record: dict) -> Path:
        """Validate ``record`` and write it atomically to its place, replacing any older one.

        Returns:
            The record's path.

        Raises:
            RecordError: if the record is invalid (nothing is written).
        """
        validate_record(record)
        path = self.path_for(record["inputs"])
        # allow_nan=False keeps the files strict JSON for every other reader (jq, browsers).
        try:
            text = json.dumps(record, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        except (TypeError, ValueError) as err:
            # A hand-built record can hold a NaN or an object JSON cannot encode; say so as a
            # record problem, before anything touches the disk.
            raise RecordError(f"record {record['record_id']}: not strict JSON ({err})") from None
        return atomic_write_text(path, text)

    def record_paths(self) -> list[Path]:
        """Paths of all record files under root, in sorted order, temporary files excluded."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*/*/*.json") if not is_temp_file(p))

    def records(self) -> list[dict]:
        """All valid records under root, sorted by model, task, seed, creation time and id.

        Unusable files are skipped with a :class:`RecordWarning` naming them.
        """
        found = (self._read(path) for path in self.record_paths())
        return sorted((r for r in found if r is not None), key=_sort_key)

    def _read(self, path: Path) -> dict | None:
        try:
            return load_record(path)
        except RecordError as err:
            warnings.warn(f"{err}; skipped", RecordWarning, stacklevel=3)
            return None
