"""Task specs and model cards: flat YAML data, resolved through ``include:`` and checked early.

A task file names one benchmark x split x protocol. ``include:`` (a path or a list, relative to
the including file) is deep-merged first, the file's own keys win; fragments whose names start
with ``_`` are building blocks, not tasks.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rsbench.backbones.input_spec import InputSpec
from rsbench.bands import NORMALISATIONS
from rsbench.bands.matching import BAND_FILLS
from rsbench.errors import RsbenchError, SpecError  # noqa: F401  (SpecError re-exported: rsbench.config.SpecError)

TASK_TYPES = ("classification", "segmentation", "detection", "multilabel")
PROTOCOLS = ("linear_probe", "knn", "frozen", "finetune")
TASK_KEYS = {"task", "version", "type", "description", "dataset", "protocol", "metrics", "include", "tags"}
DATASET_KEYS = {"name", "split", "image_size", "bands", "root", "variant", "band_fill",
                "normalisation"}
METRIC_KEYS = {"primary", "higher_is_better", "report"}
#: The label-efficiency protocol's training-set fractions (``dataset.split.train_fraction``, see
#: rsbench.data.fractions): GEO-Bench's train-size sweep.
LABEL_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def tasks_dir() -> Path:
    """Where the shipped task YAMLs live (``$RSBENCH_TASKS`` overrides)."""
    env = os.environ.get("RSBENCH_TASKS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "tasks"


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` merged into a copy of ``base``; nested mappings merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_yaml(path: Path) -> dict:
    """A YAML mapping, or a one-line error naming the file."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def resolve_includes(path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The file's mapping with its ``include:`` chain merged in (cycles are an error)."""
    path = path.resolve()
    if path in _seen:
        raise SpecError(f"{path}: include cycle through {' -> '.join(p.name for p in _seen)}")
    data = read_yaml(path)
    includes = data.pop("include", [])
    includes = [includes] if isinstance(includes, str) else includes
    merged: dict = {}
    for inc in includes:
        merged = deep_merge(merged, resolve_includes(path.parent / inc, (*_seen, path)))
    return deep_merge(merged, data)


def spec_hash(data: Any) -> str:
    """sha256 of the canonical JSON form: equal content, equal hash, whatever the key order."""
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class DatasetSpec:
    """Which data, which split, at which size.

    ``split`` is either ``{"kind": "official", "name": ...}`` (the split files the dataset or
    torchgeo ships) or ``{"kind": "ratio", "train": 0.8, "test": 0.2, "val_fraction": 0.1,
    "seed": 0}`` (stratified per class, generated from ``seed``, written and hashed).
    """

    name: str
    split: dict
    image_size: int
    bands: tuple[str, ...] = ("R", "G", "B")
    root: str | None = None
    #: A named preparation / class protocol of the dataset (e.g. ISPRS ``rgb-eroded-6cls``);
    #: the dataset's adapter validates it. Part of the spec hash like every field.
    variant: str | None = None
    #: How to run a model whose bands the data lacks (``rsbench.bands.matching.BAND_FILLS``);
    #: None refuses such a run.
    band_fill: str | None = None
    #: ``model`` (the card's statistics), ``dataset`` (the training split's) or ``none``.
    normalisation: str = "model"


@dataclass(frozen=True)
class TaskSpec:
    """One resolved task file."""

    task: str
    version: int
    type: str
    dataset: DatasetSpec
    protocol: dict
    metrics: dict
    description: str = ""
    path: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def protocol_name(self) -> str:
        return self.protocol["name"]

    @property
    def primary_metric(self) -> str:
        return self.metrics["primary"]

    @property
    def hash(self) -> str:
        """Content hash of the resolved spec (what a record pins)."""
        return spec_hash(self.raw)


def is_label_fraction(value: Any) -> bool:
    """Whether ``value`` is one of :data:`LABEL_FRACTIONS` (a number, not a bool)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and float(value) in LABEL_FRACTIONS


def _require(data: dict, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise SpecError(f"{where}: missing required field '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(f"{where}: field '{key}' must be {names}, got {value!r}")
    return value


def _check_keys(data: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(allowed)}")


def _check_choice(data: dict, key: str, allowed: tuple[str, ...], where: str) -> None:
    if key in data and data[key] is not None and data[key] not in allowed:
        raise SpecError(f"{where}: field '{key}' is {data[key]!r}; allowed: {', '.join(allowed)}")


def non_finite_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinite number in ``value``, None if there is none."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list | tuple) else ())
    for key, item in items:
        found = non_finite_field(item, f"{path}[{key}]" if isinstance(key, int)
                                 else f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def task_from_dict(data: dict, where: str) -> TaskSpec:
    """Validate a resolved task mapping; errors name ``where`` and the field."""
    _check_keys(data, TASK_KEYS, where)
    bad = non_finite_field(data)
    if bad is not None:  # a record, which holds the spec, cannot: refused before any run
        raise SpecError(f"{where}: field '{bad}' is not a finite number; records hold finite "
                        "numbers only, so give a finite value")
    name = _require(data, "task", where, str)
    version = _require(data, "version", where, int)
    ttype = _require(data, "type", where, str)
    if ttype not in TASK_TYPES:
        raise SpecError(f"{where}: field 'type' is {ttype!r}; allowed: {', '.join(TASK_TYPES)}")
    ds = _require(data, "dataset", where, dict)
    _check_keys(ds, DATASET_KEYS, f"{where}: dataset")
    split = _require(ds, "split", f"{where}: dataset", dict)
    if split.get("kind") not in ("ratio", "official"):
        raise SpecError(f"{where}: dataset.split.kind must be 'ratio' or 'official', got {split.get('kind')!r}")
    if "train_fraction" in split and not is_label_fraction(split["train_fraction"]):
        raise SpecError(f"{where}: dataset.split.train_fraction must be one of "
                        f"{list(LABEL_FRACTIONS)}, got {split['train_fraction']!r}")
    if not isinstance(ds.get("variant", ""), str):
        raise SpecError(f"{where}: dataset.variant must be a string, got {ds['variant']!r}")
    _check_choice(ds, "band_fill", tuple(BAND_FILLS), f"{where}: dataset")
    _check_choice(ds, "normalisation", NORMALISATIONS, f"{where}: dataset")
    dataset = DatasetSpec(
        name=_require(ds, "name", f"{where}: dataset", str),
        split=split,
        image_size=_require(ds, "image_size", f"{where}: dataset", int),
        bands=tuple(ds.get("bands", ("R", "G", "B"))),
        root=ds.get("root"),
        variant=ds.get("variant"),
        band_fill=ds.get("band_fill"),
        normalisation=ds.get("normalisation", "model"),
    )
    protocol = _require(data, "protocol", where, dict)
    pname = _require(protocol, "name", f"{where}: protocol", str)
    if pname not in PROTOCOLS:
        raise SpecError(f"{where}: protocol.name is {pname!r}; allowed: {', '.join(PROTOCOLS)}")
    metrics = _require(data, "metrics", where, dict)
    _check_keys(metrics, METRIC_KEYS, f"{where}: metrics")
    _require(metrics, "primary", f"{where}: metrics", str)
    _require(metrics, "higher_is_better", f"{where}: metrics", bool)
    return TaskSpec(
        task=name, version=version, type=ttype, dataset=dataset, protocol=protocol,
        metrics=metrics, description=str(data.get("description", "")), path=where, raw=data,
    )


def load_task(path: Path) -> TaskSpec:
    """Load and validate one task YAML file."""
    return task_from_dict(resolve_includes(path), str(path))


def task_files(root: Path | None = None) -> list[Path]:
    """Every task file under ``root``; fragments (any path part starting with ``_``) excluded."""
    root = root or tasks_dir()
    return sorted(p for p in root.rglob("*.yaml")
                  if not any(part.startswith("_") for part in p.relative_to(root).parts))


def find_task(name_or_path: str, root: Path | None = None) -> TaskSpec:
    """A task by name (searched under ``root``) or by path to its YAML file."""
    as_path = Path(name_or_path)
    if as_path.suffix in (".yaml", ".yml") and as_path.exists():
        return load_task(as_path)
    files = {p.stem: p for p in task_files(root)}
    if name_or_path not in files:
        import difflib

        close = difflib.get_close_matches(name_or_path, list(files), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `rsbench ls tasks` lists them"
        raise SpecError(f"unknown task {name_or_path!r}{hint}")
    return load_task(files[name_or_path])


@dataclass(frozen=True)
class ModelCard:
    """A checkpoint to score and how to read it.

    ``checkpoint`` may be None only with ``random_init: true``, which declares a random-weights
    baseline in every record it produces.
    """

    name: str
    arch: str
    checkpoint: str | None
    input_spec: InputSpec
    pool: str = "cls"
    arch_overrides: dict = field(default_factory=dict)
    sha256: str | None = None
    random_init: bool = False
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "arch": self.arch, "checkpoint": self.checkpoint,
            "input_spec": self.input_spec.to_dict(), "pool": self.pool,
            "arch_overrides": self.arch_overrides, "sha256": self.sha256,
            "random_init": self.random_init, **({"meta": self.meta} if self.meta else {}),
        }


CARD_KEYS = {"name", "arch", "checkpoint", "input_spec", "pool", "arch_overrides", "sha256",
             "random_init", "license", "paper", "contact", "description", "weights"}


def card_from_dict(data: dict, where: str, base_dir: Path | None = None) -> ModelCard:
    """Validate a model card mapping; relative checkpoint paths resolve against ``base_dir``."""
    _check_keys(data, CARD_KEYS, where)
    random_init = bool(data.get("random_init", False))
    ckpt = data.get("checkpoint")
    if ckpt is None and not random_init:
        raise SpecError(f"{where}: field 'checkpoint' is required (or declare random_init: true)")
    if ckpt is not None and base_dir is not None and not Path(ckpt).is_absolute():
        ckpt = str((base_dir / ckpt).resolve())
    pool = data.get("pool", "cls")
    if pool not in ("cls", "avg"):
        raise SpecError(f"{where}: field 'pool' must be 'cls' or 'avg', got {pool!r}")
    arch = _require(data, "arch", where, str)
    try:
        input_spec = InputSpec.from_dict(data.get("input_spec"))
    except (ValueError, TypeError) as err:
        raise SpecError(f"{where}: {err}") from None
    if arch.startswith("zoo:") or "weights" in data:  # torchgeo's models (rsbench.zoo)
        from rsbench.zoo.spec import kept_card_spec

        input_spec = kept_card_spec(arch, data.get("weights"), data.get("input_spec"), input_spec,
                                    pool, where)
    overrides = dict(data.get("arch_overrides") or {})
    if arch == "auto":  # resolved here, so identity, records and cache keys name the real arch
        arch, overrides, pool = auto_arch(ckpt, overrides, data.get("pool"), where)
    return ModelCard(
        name=_require(data, "name", where, str), arch=arch,
        checkpoint=ckpt, input_spec=input_spec, pool=pool,
        arch_overrides=overrides, sha256=data.get("sha256"),
        random_init=random_init,
        meta={k: data[k] for k in ("license", "paper", "contact", "description", "weights")
              if k in data},
    )


def auto_arch(
    checkpoint: str | None, overrides: dict, pool: str | None, where: str
) -> tuple[str, dict, str]:
    """``(arch, arch_overrides, pool)`` for ``arch: auto``, read from the checkpoint.

    A refusal names the card and field; from ``--model CKPT`` (no card) it names the checkpoint.
    """
    from rsbench.checkpoints import CheckpointError
    from rsbench.checkpoints.infer import card_arch

    try:
        return card_arch(checkpoint, overrides, pool)
    except CheckpointError as err:
        if Path(where).suffix not in (".yaml", ".yml"):
            raise
        raise SpecError(f"{where}: field 'arch' is auto: {err}") from None


def load_card(path: Path) -> ModelCard:
    """Load and validate a model card YAML file."""
    return card_from_dict(read_yaml(path), str(path), base_dir=path.resolve().parent)
