"""The one seeded order and the one share rule every split in rsbench is cut with.

Order: keys (file paths, tiles, scenes, source images) are sorted by
``sha256(f"{seed}:{key}")``. No random number generator is involved, so the order is the same
on every machine and cannot change with a numpy, torch or Python upgrade; the order of any
subset of keys is that subset taken in the order of the whole, which is what makes a val cut
from a train part the same whether the train part was cut first or not.

Share: ``share(n, f)`` is ``n * f`` rounded to the nearest integer, halves up, computed with
``f`` taken as the exact decimal it is written as (``Fraction(repr(f))``), so ``45 * 0.7`` is
31.5 and gives 32 (float arithmetic gives 31.499999999999996 and 31). Halves go up, never to
even: ``share(7, 0.5)`` is 4.

``seeded_partition`` is the one cut: the items whose key is in the seeded prefix of a count
of keys. Ratio splits (trainval, test and val per class), the val carved by group off an
official train part, and, with their own floor count, label-efficiency subsets
(:mod:`rsbench.data.fractions`) are all made with it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import TypeVar

T = TypeVar("T")
P = TypeVar("P", bound=tuple)


def exact(fraction: float) -> Fraction:
    """``fraction`` as the exact decimal it is written as (``0.1`` is 1/10, not 0.1000000000000000055...)."""
    return Fraction(repr(fraction))


def round_half_up(x: Fraction) -> int:
    """Nearest integer, halves rounded up (Python's ``round`` rounds them to even)."""
    return math.floor(x + Fraction(1, 2))


def share(n: int, fraction: float) -> int:
    """How many of ``n`` keys a fraction takes: ``round_half_up(n * exact(fraction))``."""
    return round_half_up(n * exact(fraction))


def seeded_order(keys: Iterable[str], seed: int) -> list[str]:
    """``keys`` in the seed's order: sorted by ``sha256(f"{seed}:{key}")``."""
    return sorted(keys, key=lambda k: hashlib.sha256(f"{seed}:{k}".encode()).hexdigest())


def seeded_partition(items: Iterable[T], key: Callable[[T], str], count: Callable[[int], int],
                     seed: int) -> tuple[list[T], list[T]]:
    """``(taken, rest)``: the items whose key is in the seeded prefix of ``count(n)`` keys, and
    the others, ``n`` being the number of distinct keys; both keep the items' own order.

    Items sharing a key (the patches of one tile, the tiles of one scene) go to the same side.

    Args:
        items: what is split (paths, ``(path, label)`` or ``(image, mask)`` pairs).
        key: the unit an item is ordered and cut by.
        count: how many of the ``n`` distinct keys are taken, e.g. ``lambda n: share(n, 0.1)``.
        seed: the seed of the order.
    """
    items = list(items)
    order = seeded_order({key(item) for item in items}, seed)
    taken = set(order[:count(len(order))])
    return ([item for item in items if key(item) in taken],
            [item for item in items if key(item) not in taken])


def carve_val(train: list[P], fraction: float, seed: int,
              group: Callable[[str], str]) -> tuple[list[P], list[P]]:
    """``(train, val)``: the seeded prefix of ``share(n_groups, fraction)`` whole groups moved
    from an official train part to val; ``group`` maps a sample's image path (its first
    element) to its unit (file, tile, scene). Both lists keep ``train``'s order."""
    val, kept = seeded_partition(train, lambda s: group(s[0]), lambda n: share(n, fraction), seed)
    return kept, val
