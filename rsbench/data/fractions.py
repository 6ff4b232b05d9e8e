"""Label-efficiency train subsets: a fixed fraction of the train part, stratified and nested.

The label-efficiency protocol trains on a fraction ``f`` of a split's train part, ``f`` one of
``LABEL_FRACTIONS`` (1, 2, 5, 10, 20, 50 and 100 %, GEO-Bench's train-size sweep); val and test
stay whole, so every fraction is scored on the same test images and selects on the same val.

Count rule, per class ``c`` with ``n_c`` train images (``f`` taken as the exact decimal it is
written as, so ``0.29 * 100`` is 29, not 28.999...)::

    k_c = min(n_c, max(1, floor(n_c * f)))

- ``floor`` is GEO-Bench's rounding: its ``generate_train_size_sweep``
  (ServiceNow/geo-bench, ``geobench/benchmark/generate_partitions.py``) keeps
  ``int(len(train) * fraction)`` samples. GEO-Bench floors the pooled train set; here each class
  is floored on its own, so the class proportions of the train part are kept (stratified).
- at least one image per class, so every class can be learnt at 1 % (a floor of 13 images at
  5 % would be 0); a class with no train image stays empty.
- nested by construction: each class's images are put in one seeded order,
  ``sha256(f"{seed}:{path}")`` (as for ratio splits, no RNG), and a fraction keeps a prefix of
  it. ``k_c`` never decreases as ``f`` grows, so for one seed the 5 % subset is inside the 10 %
  one. (GEO-Bench draws each fraction independently, so its subsets are not nested.)

e.g. 7 classes x 13 train images: 1, 2, 5 and 10 % keep 1 per class (7 in all; 13 x 0.1 = 1.3
floors to 1), 20 % keeps 2 per class (14), 50 % keeps 6 (42), 100 % keeps all 91.

Segmentation has no image label to stratify by: the same count rule is applied to the
dataset's groups (``adapter.group``: the file for LoveDA, the tile for ISPRS, the scene for
iSAID, so overlapping patches are kept or dropped together), ordered by
``sha256(f"{seed}:{group}")``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

from rsbench.data.base import Sample
from rsbench.data.seeded import exact, seeded_partition
from rsbench.data.splits import SplitSpec

T = TypeVar("T", bound=tuple)


def fraction_count(n: int, fraction: float) -> int:
    """How many of ``n`` items a fraction keeps: ``min(n, max(1, floor(n * fraction)))``."""
    if n == 0:
        return 0
    return min(n, max(1, math.floor(n * exact(fraction))))


def _prefix_subset(items: list[T], key: Callable[[T], str], fraction: float | None,
                   seed: int) -> list[T]:
    """The items whose ``key`` is in the seeded prefix of ``fraction_count`` keys, sorted."""
    if fraction is None:
        return list(items)
    kept, _ = seeded_partition(items, key, lambda n: fraction_count(n, fraction), seed)
    return sorted(kept)


def stratified_subset(samples: list[Sample], fraction: float | None, seed: int) -> list[Sample]:
    """The label-efficiency subset of classification ``samples``: per class, the seeded prefix
    of ``fraction_count`` images (all of them when ``fraction`` is None), sorted by path."""
    by_class: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_class[sample[1]].append(sample)
    out: list[Sample] = []
    for label in sorted(by_class):
        out += _prefix_subset(by_class[label], lambda s: s[0], fraction, seed)
    return sorted(out)


def group_subset(samples: list[T], fraction: float | None, seed: int,
                 group: Callable[[str], str]) -> list[T]:
    """The label-efficiency subset of segmentation ``(image, mask)`` pairs: the seeded prefix of
    ``fraction_count`` groups (``group(image)``), every pair of a kept group, sorted."""
    return _prefix_subset(samples, lambda s: group(s[0]), fraction, seed)


def with_train_fraction(assignment: dict[str, list[Sample]],
                        split: SplitSpec) -> dict[str, list[Sample]]:
    """``assignment`` with its train part cut to ``split.train_fraction`` (val, test whole)."""
    train = stratified_subset(assignment["train"], split.train_fraction, split.seed)
    return {**assignment, "train": train}
