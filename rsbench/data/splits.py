"""Split specs and stratified ratio splits, reproducible from a seed on any machine.

A ratio split is made per class. Each class's files are put in the seeded order
``sha256(f"{seed}:{relative_path}")`` and cut into counts computed with exact fractions
(:mod:`rsbench.data.seeded`, whose ``share(n, f)`` is ``n * f`` rounded half up):

- ``trainval = share(n, train)``, the head of the order
- ``test = n - trainval`` when ``train + test == 1``, else ``min(share(n, test), n - trainval)``,
  the files that follow
- ``val = share(trainval, val_fraction)``, taken from the head of the trainval part;
  ``train = trainval - val``

e.g. n = 100 at 0.8 / 0.2 / val 0.1 gives 72 / 8 / 20, and n = 7 at 0.5 / 0.5 gives 4 / 0 / 3
(3.5 rounds up, never to even).

Either kind may add ``train_fraction`` (one of ``LABEL_FRACTIONS``): the label-efficiency
protocol then trains on that stratified, nested fraction of the train part
(:mod:`rsbench.data.fractions`); ``seed`` orders the subset (official splits take it too).
"""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rsbench.config import LABEL_FRACTIONS, is_label_fraction
from rsbench.data.base import Sample
from rsbench.data.errors import SplitSpecError
from rsbench.data.seeded import exact, seeded_partition, share

RATIO_KEYS = {"kind", "train", "test", "val_fraction", "seed"}
OFFICIAL_KEYS = {"kind", "name"}
FRACTION_KEYS = {"train_fraction", "seed"}


@dataclass(frozen=True)
class SplitSpec:
    """A validated ``dataset.split`` mapping.

    Attributes:
        kind: ``"ratio"`` or ``"official"``.
        train: fraction of each class for train + val (ratio only).
        test: fraction of each class for test (ratio only).
        val_fraction: fraction of each class's train part held out as val (ratio only).
        seed: the seed the ratio split (and the train subset, if any) is made from.
        name: which official split (official only), e.g. ``"torchgeo"``.
        train_fraction: the label-efficiency fraction of the train part kept, or None for all.
    """

    kind: str
    train: float = 0.0
    test: float = 0.0
    val_fraction: float = 0.0
    seed: int = 0
    name: str = ""
    train_fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The parameters that define the split (what records and file names carry)."""
        out: dict[str, Any]
        if self.kind == "official":
            out = {"kind": "official", "name": self.name}
        else:
            out = {"kind": "ratio", "train": self.train, "test": self.test,
                   "val_fraction": self.val_fraction, "seed": self.seed}
        # Added only when set, so the splits (and hashes) of tasks without one never change.
        if self.train_fraction is not None:
            out.update(train_fraction=self.train_fraction, seed=self.seed)
        return out

    def file_stem(self, dataset: str) -> str:
        """A file name stem encoding dataset and parameters.

        e.g. ``ucmerced_ratio_0.8_0.2_val0.1_seed0``, ``eurosat_official_torchgeo``,
        ``ucmerced_ratio_0.8_0.2_val0.1_seed0_frac0.05`` or
        ``eurosat_official_torchgeo_frac0.05_seed0``.
        """
        frac = "" if self.train_fraction is None else f"_frac{self.train_fraction!r}"
        if self.kind == "official":
            return f"{dataset}_official_{self.name}{frac}{f'_seed{self.seed}' if frac else ''}"
        fractions = f"{self.train!r}_{self.test!r}_val{self.val_fraction!r}"
        return f"{dataset}_ratio_{fractions}_seed{self.seed}{frac}"


def _fraction(raw: dict, key: str, low: float, high: float, default: float | None = None) -> float:
    if key not in raw and default is not None:
        return default
    value = finite_number(raw.get(key))
    if value is None or not low <= value <= high:
        raise SplitSpecError(f"dataset.split.{key} must be a number in [{low}, {high}], "
                             f"got {raw.get(key)!r}")
    return value


def finite_number(value: object) -> float | None:
    """``value`` as a float when it is a finite real number (not a bool), else None."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def parse_seed(raw: dict, default: int | None = None) -> int:
    """``raw["seed"]`` (or ``default`` when absent) checked to be a non-negative integer."""
    seed = raw.get("seed", default)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SplitSpecError(f"dataset.split.seed must be a non-negative integer, got {seed!r}")
    return seed


def parse_train_fraction(raw: dict) -> float | None:
    """``raw["train_fraction"]`` as a float from ``LABEL_FRACTIONS``, or None when absent.

    Raises:
        SplitSpecError: a value outside ``LABEL_FRACTIONS`` (0, above 1, or not in the list).
    """
    if "train_fraction" not in raw:
        return None
    value = raw["train_fraction"]
    if not is_label_fraction(value):
        raise SplitSpecError(f"dataset.split.train_fraction must be one of "
                             f"{list(LABEL_FRACTIONS)}, got {value!r}")
    return float(value)


def parse_split(raw: dict, official_names: tuple[str, ...] = (),
                with_fraction: bool = False) -> SplitSpec:
    """Validate a ``dataset.split`` mapping; errors name the offending field.

    Args:
        raw: the mapping from the task YAML.
        official_names: the official splits the dataset has, default first.
        with_fraction: accept ``train_fraction`` (and, for official splits, ``seed``); only
            builders that apply it pass True, so no other caller can ignore it silently.

    Raises:
        SplitSpecError: unknown kind or keys, fractions out of range, train + test > 1,
            a seed that is not an integer, an official split the dataset does not have, or a
            ``train_fraction`` outside ``LABEL_FRACTIONS``.
    """
    if not isinstance(raw, dict):
        raise SplitSpecError(f"dataset.split must be a mapping, got {raw!r}")
    kind = raw.get("kind")
    if kind not in ("ratio", "official"):
        raise SplitSpecError(f"dataset.split.kind must be 'ratio' or 'official', got {kind!r}")
    allowed = (RATIO_KEYS if kind == "ratio" else OFFICIAL_KEYS) | (FRACTION_KEYS if with_fraction else set())
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SplitSpecError(f"dataset.split: unknown field(s) {unknown} for kind {kind!r}; "
                             f"allowed: {sorted(allowed)}")
    if kind == "official":
        if not official_names:
            raise SplitSpecError("dataset.split.kind: this dataset has no official split; "
                                 "use kind: ratio")
        name = raw.get("name", official_names[0])
        if name not in official_names:
            raise SplitSpecError(f"dataset.split.name must be one of {list(official_names)}, "
                                 f"got {name!r}")
        fraction = parse_train_fraction(raw)
        if fraction is None and "seed" in raw:
            raise SplitSpecError("dataset.split.seed: an official split takes a seed only with "
                                 "train_fraction (it orders the train subset)")
        return SplitSpec(kind="official", name=name, seed=parse_seed(raw, 0),
                         train_fraction=fraction)
    train = _fraction(raw, "train", 0.0, 1.0)
    test = _fraction(raw, "test", 0.0, 1.0)
    if train == 0.0 or test == 0.0:
        field = "train" if train == 0.0 else "test"
        raise SplitSpecError(f"dataset.split.{field} must be greater than 0")
    if exact(train) + exact(test) > 1:
        raise SplitSpecError(f"dataset.split.test: train + test = {train} + {test} exceeds 1")
    val_fraction = _fraction(raw, "val_fraction", 0.0, 1.0, default=0.0)
    if val_fraction == 1.0:
        raise SplitSpecError("dataset.split.val_fraction must be below 1 (it would leave no train)")
    return SplitSpec(kind="ratio", train=train, test=test, val_fraction=val_fraction,
                     seed=parse_seed(raw), train_fraction=parse_train_fraction(raw))


def ratio_counts(n: int, spec: SplitSpec) -> tuple[int, int, int]:
    """``(train, val, test)`` counts for a class of ``n`` images (see the module docstring)."""
    trainval = share(n, spec.train)
    whole = exact(spec.train) + exact(spec.test) == 1
    n_test = n - trainval if whole else min(share(n, spec.test), n - trainval)
    n_val = share(trainval, spec.val_fraction)
    return trainval - n_val, n_val, n_test


def ratio_split(samples: list[Sample], spec: SplitSpec) -> dict[str, list[Sample]]:
    """Stratified ``train``/``val``/``test`` samples, each list sorted by path."""
    by_class: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_class[sample[1]].append(sample)
    out: dict[str, list[Sample]] = {"train": [], "val": [], "test": []}
    for label in sorted(by_class):
        for name, items in class_split(by_class[label], spec).items():
            out[name] += items
    return {name: sorted(items) for name, items in out.items()}


def class_split(samples: list[Sample], spec: SplitSpec) -> dict[str, list[Sample]]:
    """One class's ``train``/``val``/``test``: in the seeded order of its paths, trainval is the
    head, test what follows, and val the head of trainval (``seeded_partition`` each time)."""
    n_train, n_val, n_test = ratio_counts(len(samples), spec)
    trainval, rest = seeded_partition(samples, _path, lambda n: n_train + n_val, spec.seed)
    test, _ = seeded_partition(rest, _path, lambda n: n_test, spec.seed)
    val, train = seeded_partition(trainval, _path, lambda n: n_val, spec.seed)
    return {"train": train, "val": val, "test": test}


def _path(sample: Sample) -> str:
    return sample[0]
