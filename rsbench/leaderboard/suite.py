"""Suite definitions: which tasks a leaderboard holds, with which seeds and baselines.

A suite is a YAML file in ``leaderboards/`` (see docs/ARCHITECTURE.md "Records and leaderboards")::

    suite: classification          # name, also the output folder
    version: 1                     # bumped whenever the suite's numbers would change
    description: ...
    tasks:                         # task names; a mapping may pin the primary metric
      - ucmerced_8_2_linear_probe
      - {task: aid_2_8_linear_probe, primary: overall_accuracy}
    seeds: [0, 1, 2, 3, 4]         # pre-registered: records of other seeds are set aside
    min_seeds: 5                   # cells with fewer ok seeds are "short", not aggregated
    baselines:                     # min-max normalisation per task (metric units, low < high)
      ucmerced_8_2_linear_probe: {low: 0.0476, high: 1.0}
    aggregate: iqm

Loading checks every field and raises :class:`SuiteError` with one line naming the file and
the field. Task names without a task file are allowed (a suite may be written before its
tasks land) but warned about with :class:`SuiteWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rsbench.errors import RsbenchError
from rsbench.results.provenance import source_root

AGGREGATES = ("iqm",)
KNOWN_FIELDS = (
    "suite",
    "version",
    "description",
    "tasks",
    "seeds",
    "min_seeds",
    "baselines",
    "aggregate",
    "n_boot",
    "boot_seed",
)


class SuiteError(RsbenchError, ValueError):
    """A suite file that cannot be used; one line naming the file and the field."""


class SuiteWarning(UserWarning):
    """A suite that loads but names something that does not exist (yet), e.g. a task file."""


@dataclass(frozen=True)
class Suite:
    """A validated suite definition (see the module docstring)."""

    name: str
    version: int
    description: str
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    min_seeds: int
    baselines: dict[str, tuple[float, float]]
    primary: dict[str, str] = field(default_factory=dict)
    aggregate: str = "iqm"
    n_boot: int = 10_000
    boot_seed: int = 0
    path: Path | None = None


def suites_dir() -> Path:
    """The shipped suites: ``leaderboards/`` at the root of the rsbench checkout."""
    return source_root() / "leaderboards"


def suite_path(name_or_path: str | Path, root: Path | None = None) -> Path:
    """The YAML file of a suite given by path or by name (looked up in :func:`suites_dir`)."""
    as_path = Path(name_or_path)
    if as_path.suffix in (".yaml", ".yml"):
        return as_path
    root = root or suites_dir()
    path = root / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in root.glob("*.yaml"))
        raise SuiteError(
            f"unknown suite {str(name_or_path)!r}; shipped: {', '.join(known) or 'none'}"
        )
    return path


def _fail(path: Path, key: str, why: str) -> SuiteError:
    return SuiteError(f"{path}: field '{key}': {why}")


def _int(path: Path, key: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(path, key, f"expected an integer >= {minimum}, got {value!r}")
    return value


def _tasks(path: Path, raw) -> tuple[tuple[str, ...], dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "tasks", "expected a non-empty list of task names")
    names, primary = [], {}
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            unknown = set(item) - {"task", "primary"}
            if unknown or not isinstance(item.get("task"), str):
                raise _fail(path, f"tasks[{i}]", "expected a name or {task: NAME, primary: METRIC}")
            if "primary" in item:
                if not isinstance(item["primary"], str) or not item["primary"]:
                    raise _fail(path, f"tasks[{i}].primary", "expected a metric name")
                primary[item["task"]] = item["primary"]
            item = item["task"]
        if not isinstance(item, str) or not item:
            raise _fail(path, f"tasks[{i}]", f"expected a task name, got {item!r}")
        if item in names:
            raise _fail(path, f"tasks[{i}]", f"task {item!r} is listed twice")
        names.append(item)
    return tuple(names), primary


def _seeds(path: Path, raw) -> tuple[int, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "seeds", "expected a non-empty list of integers, e.g. [0, 1, 2, 3, 4]")
    seeds = tuple(_int(path, f"seeds[{i}]", s, 0) for i, s in enumerate(raw))
    if len(set(seeds)) != len(seeds):
        raise _fail(path, "seeds", f"repeated seeds in {list(seeds)}")
    return seeds


def _baselines(path: Path, raw, tasks: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    if not isinstance(raw, dict):
        raise _fail(path, "baselines", "expected a mapping task -> {low: x, high: y}")
    out = {}
    for task in tasks:
        entry = raw.get(task)
        where = f"baselines.{task}"
        if not isinstance(entry, dict) or set(entry) != {"low", "high"}:
            raise _fail(path, where, f"expected {{low: x, high: y}}, got {entry!r}")
        low, high = entry["low"], entry["high"]
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in (low, high)):
            raise _fail(path, where, f"low and high must be numbers, got {low!r}, {high!r}")
        if not low < high:
            raise _fail(path, where, f"low ({low}) must be below high ({high})")
        out[task] = (float(low), float(high))
    extra = sorted(set(raw) - set(tasks))
    if extra:
        raise _fail(path, "baselines", f"baselines for tasks not in the suite: {', '.join(extra)}")
    return out


def warn_unknown_tasks(suite: Suite, task_root: Path | None = None) -> list[str]:
    """Suite task names without a task file under ``task_root``; warns about them."""
    from rsbench.config import task_files

    known = {p.stem for p in task_files(task_root)}
    missing = [t for t in suite.tasks if t not in known]
    if missing:
        warnings.warn(
            f"{suite.path}: task(s) without a task file yet: {', '.join(missing)}",
            SuiteWarning,
            stacklevel=2,
        )
    return missing


def parse_suite(raw, path: Path) -> Suite:
    """Validate decoded suite YAML (``path`` is only for messages)."""
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: expected a mapping of suite fields")
    unknown = sorted(set(raw) - set(KNOWN_FIELDS))
    if unknown:
        raise _fail(path, unknown[0], f"unknown field; allowed: {', '.join(KNOWN_FIELDS)}")
    for key in ("suite", "version", "tasks", "seeds", "baselines"):
        if key not in raw:
            raise _fail(path, key, "missing")
    if not isinstance(raw["suite"], str) or not raw["suite"]:
        raise _fail(path, "suite", "expected a non-empty name")
    if not isinstance(raw.get("description", ""), str):
        raise _fail(path, "description", "expected text")
    aggregate = raw.get("aggregate", "iqm")
    if aggregate not in AGGREGATES:
        raise _fail(path, "aggregate", f"{aggregate!r}; allowed: {', '.join(AGGREGATES)}")
    tasks, primary = _tasks(path, raw["tasks"])
    seeds = _seeds(path, raw["seeds"])
    min_seeds = _int(path, "min_seeds", raw.get("min_seeds", len(seeds)), 1)
    if min_seeds > len(seeds):
        raise _fail(path, "min_seeds", f"{min_seeds} exceeds the {len(seeds)} registered seeds")
    return Suite(
        name=raw["suite"],
        version=_int(path, "version", raw["version"], 0),
        description=raw.get("description", "").strip(),
        tasks=tasks,
        seeds=seeds,
        min_seeds=min_seeds,
        baselines=_baselines(path, raw["baselines"], tasks),
        primary=primary,
        aggregate=aggregate,
        n_boot=_int(path, "n_boot", raw.get("n_boot", 10_000), 1),
        boot_seed=_int(path, "boot_seed", raw.get("boot_seed", 0), 0),
        path=path,
    )


def load_suite(
    name_or_path: str | Path, root: Path | None = None, task_root: Path | None = None
) -> Suite:
    """Read, validate and return a suite; warn about task names without a task file.

    Args:
        name_or_path: a YAML path, or a suite name under ``root``.
        root: where suites live (default :func:`suites_dir`).
        task_root: where task files live (default: the shipped ``tasks/``).

    Raises:
        SuiteError: one line naming the file and the bad field.
    """
    path = suite_path(name_or_path, root)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"{path}: suite file not found") from None
    except yaml.YAMLError as err:
        raise SuiteError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    suite = parse_suite(raw, path)
    warn_unknown_tasks(suite, task_root)
    return suite
