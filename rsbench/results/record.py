"""The run record: one JSON document per (model, task, seed), named by a hash of its inputs.

A record is plain JSON data. Its ``inputs`` section holds exactly what determines a run (model,
task version and spec hash, seed, protocol overrides, precision); ``record_id`` is a hash of
it, so re-running the same inputs addresses the same file. Every other section is provenance
and outcome. Validation happens when a record is built and again whenever one is read, so a
hand-edited or truncated file can never reach a leaderboard.
"""

from __future__ import annotations

import hashlib
import json
import math
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rsbench.errors import RsbenchError

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed")
TRACEBACK_LINES = 30
REQUIRED_KEYS = (
    "schema_version",
    "record_id",
    "created",
    "status",
    "inputs",
    "task",
    "model",
    "protocol",
    "seed",
    "data",
    "primary_metric",
    "higher_is_better",
    "metrics",
    "timings",
    "environment",
)


class RecordError(RsbenchError, ValueError):
    """A record that cannot be used; the message is one line naming the file or field."""


def canonical_json(data: Any) -> str:
    """Key-order-independent compact JSON (same form as ``rsbench.config.spec_hash``)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def record_id(inputs: dict) -> str:
    """First 16 hex characters of the sha256 of the canonical JSON of ``inputs``.

    Equal content gives an equal id whatever the key order; any changed value changes it.
    Note that ``1`` and ``1.0`` serialise differently and so give different ids.
    """
    return hashlib.sha256(canonical_json(inputs).encode()).hexdigest()[:16]


def plain(value: Any) -> Any:
    """``value`` as strict JSON data: numpy/torch scalars and arrays become Python numbers and
    lists, tuples become lists, non-finite floats become ``None``, unknown objects ``str``."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "tolist"):  # numpy and torch scalars/arrays, without importing either
        return plain(value.tolist())
    return str(value)


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is a real, finite number (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _primary_first(metrics: dict, primary: str) -> dict:
    # The design promises "metrics (primary first)": a reader of the JSON sees the score at once.
    if primary not in metrics:
        return dict(metrics)
    return {primary: metrics[primary], **{k: v for k, v in metrics.items() if k != primary}}


def _check_keys(value: Any, where: str) -> None:
    # JSON keys are strings: a non-string key would come back from disk as a string, sort
    # differently and so no longer hash to the record's id (or not sort at all, if mixed).
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RecordError(f"{where}: key {key!r} is not a string")
            _check_keys(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_keys(item, f"{where}[{index}]")


def _checked_inputs(inputs: Any) -> dict:
    # Stored exactly as hashed (a JSON round trip of the canonical form), so that re-hashing
    # the stored inputs on every read reproduces record_id.
    if not isinstance(inputs, dict):
        raise RecordError(f"inputs must be a mapping, got {type(inputs).__name__}")
    _check_keys(inputs, "inputs")
    try:
        json.dumps(inputs, allow_nan=False, default=str)
    except ValueError:
        raise RecordError("inputs contain a non-finite number (NaN or inf)") from None
    return json.loads(canonical_json(inputs))


def _check_primary_value(metric: str, metrics: dict) -> None:
    # Checked before plain(), which would turn a NaN score into null and so hide where it came from.
    if metric not in metrics:
        raise RecordError(f"status 'ok' but primary metric '{metric}' is not in metrics")
    value = metrics[metric]
    value = value.tolist() if hasattr(value, "tolist") else value
    if not is_finite_number(value):
        raise RecordError(f"status 'ok' but primary metric '{metric}' is {value!r}")


def _check_primary(record: dict) -> None:
    metric = record["primary_metric"]
    if not isinstance(metric, str) or not metric:
        raise RecordError(f"primary_metric must be a non-empty string, got {metric!r}")
    if record["status"] == "ok":
        _check_primary_value(metric, record["metrics"])


def _check_names(record: dict) -> None:
    # The store files a record under inputs' names and the leaderboard groups by the record's
    # own sections: if the two disagreed, a result would appear under the wrong model or task.
    inputs = record["inputs"]
    for section in ("model", "task"):
        name = record[section].get("name") if isinstance(record[section], dict) else None
        part = inputs.get(section)
        expected = part.get("name") if isinstance(part, dict) else None
        if not isinstance(name, str) or not name:
            raise RecordError(f"{section}.name must be a non-empty string, got {name!r}")
        if name != expected:
            raise RecordError(
                f"{section}.name {name!r} differs from inputs.{section}.name {expected!r}"
            )
    if record["seed"] != inputs.get("seed"):
        raise RecordError(
            f"seed {record['seed']!r} differs from inputs.seed {inputs.get('seed')!r}"
        )


def validate_record(record: Any) -> dict:
    """Check a record's structure and consistency.

    Args:
        record: a decoded record.

    Returns:
        ``record`` itself.

    Raises:
        RecordError: naming the first problem found.
    """
    if not isinstance(record, dict):
        raise RecordError(f"a record must be a JSON object, got {type(record).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise RecordError(f"missing field(s) {missing}")
    if record["schema_version"] != SCHEMA_VERSION:
        raise RecordError(
            f"schema_version {record['schema_version']!r}; this rsbench reads {SCHEMA_VERSION}"
        )
    if record["status"] not in STATUSES:
        raise RecordError(f"status {record['status']!r}; allowed: {', '.join(STATUSES)}")
    if not isinstance(record["inputs"], dict) or record["record_id"] != record_id(record["inputs"]):
        raise RecordError("record_id does not match the hash of inputs (edited or corrupt)")
    if isinstance(record["seed"], bool) or not isinstance(record["seed"], int):
        raise RecordError(f"seed must be an integer, got {record['seed']!r}")
    if not isinstance(record["higher_is_better"], bool):
        raise RecordError(
            f"higher_is_better must be true or false, got {record['higher_is_better']!r}"
        )
    for section in ("task", "model", "protocol", "data", "metrics", "timings", "environment"):
        if not isinstance(record[section], dict):
            raise RecordError(f"{section} must be a mapping, got {type(record[section]).__name__}")
    _check_names(record)
    _check_primary(record)
    error = record.get("error")
    if record["status"] == "failed" and not (isinstance(error, dict) and error.get("type")):
        raise RecordError("status 'failed' requires an error with at least a 'type'")
    if not isinstance(record.get("previous_attempts", []), list):
        raise RecordError("previous_attempts must be a list")
    return record


def new_record(
    inputs: dict,
    *,
    status: str,
    task: dict,
    model: dict,
    protocol: dict,
    seed: int,
    data: dict,
    metrics: dict,
    primary_metric: str,
    higher_is_better: bool,
    timings: dict,
    environment: dict,
    error: dict | None = None,
    previous_attempts: list | None = None,
) -> dict:
    """Build and validate a run record.

    Args:
        inputs: what determines the run; hashed into ``record_id`` (see :func:`record_id`).
        status: ``"ok"`` or ``"failed"``.
        task: task name, version, spec hash and anything else worth keeping about the task.
        model: model name, arch, checkpoint sha256, load report.
        protocol: protocol name and resolved hyper-parameters.
        seed: the run's seed (must equal ``inputs["seed"]``).
        data: split file hash, dataset fingerprint.
        metrics: metric name -> value; reordered so the primary metric comes first. Non-finite
            values of other metrics are stored as ``null`` (strict JSON has no NaN).
        primary_metric: the key of ``metrics`` the leaderboard ranks by.
        higher_is_better: direction of the primary metric.
        timings: wall times and throughput.
        environment: see :func:`rsbench.results.environment`.
        error: required when failed, e.g. from :func:`failure_info`.
        previous_attempts: errors of earlier failed attempts with the same inputs, so a retry
            that succeeds never hides that the run once failed.

    Returns:
        The record, as plain JSON data.

    Raises:
        RecordError: if the record is inconsistent, e.g. an ok record whose primary metric is
            missing or NaN, or a failed one without an error.
    """
    if not isinstance(metrics, dict):
        raise RecordError(f"metrics must be a mapping, got {type(metrics).__name__}")
    if status == "ok":
        _check_primary_value(primary_metric, metrics)
    checked = _checked_inputs(inputs)
    record = plain(
        {
            "schema_version": SCHEMA_VERSION,
            "record_id": record_id(checked),
            "created": datetime.now(UTC).isoformat(timespec="microseconds"),
            "status": status,
            "inputs": None,  # filled below: inputs are stored as hashed, not through plain()
            "task": task,
            "model": model,
            "protocol": protocol,
            "seed": seed,
            "data": data,
            "primary_metric": primary_metric,
            "higher_is_better": higher_is_better,
            "metrics": _primary_first(metrics, primary_metric),
            "timings": timings,
            "environment": environment,
            "error": error,
            "previous_attempts": list(previous_attempts or []),
        }
    )
    record["inputs"] = checked
    return validate_record(record)


def failure_info(exc: BaseException) -> dict:
    """What a failed record keeps of an exception.

    Returns:
        ``{"type", "message", "traceback"}``: the qualified type name, the message collapsed to
        one line (never cut: its end often says how to fix the input), and the last ~30
        lines of the formatted traceback.
    """
    cls = type(exc)
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    message = " ".join(str(exc).split())
    lines = "".join(traceback.format_exception(exc)).rstrip("\n").splitlines()
    return {"type": name, "message": message, "traceback": "\n".join(lines[-TRACEBACK_LINES:])}


def load_record(path: Path | str) -> dict:
    """Read and validate one record file.

    Raises:
        RecordError: one line naming the file and what is wrong with it.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: not a readable JSON record ({err})") from None
    try:
        return validate_record(record)
    except RecordError as err:
        raise RecordError(f"{path}: invalid record: {err}") from None
