"""The one seeded order and share rule (rsbench.data.seeded), and what it changed.

Before it, the val carved off an official train part (segmentation, detection) rounded
``floor(n * f + 0.5)`` in floats while ratio splits rounded ``n * f`` in exact decimals. The
"before" rules are written out here, from rsbench's previous code, to show on hand-made lists
which splits stay as they were: every ratio split, and every carve with the val fractions tasks
use (0, and 0.1 for rsbench's own splits); only a carve at fractions such as 0.7 or 0.35 on
group counts such as 45 moves one group.
"""

import hashlib
import math
from fractions import Fraction

import pytest

from rsbench.data.seeded import carve_val, seeded_order, seeded_partition, share
from rsbench.data.splits import parse_split, ratio_split


def sha_order(keys, seed):
    return sorted(keys, key=lambda k: hashlib.sha256(f"{seed}:{k}".encode()).hexdigest())


def carve_before(train, fraction, seed, group):
    groups = sorted({group(img) for img, _ in train})
    order = sha_order(groups, seed)
    held = set(order[:math.floor(len(groups) * fraction + 0.5)])
    return ([s for s in train if group(s[0]) not in held], [s for s in train if group(s[0]) in held])


def ratio_before(samples, spec):
    def half_up(x):
        return math.floor(x + Fraction(1, 2))

    out = {"train": [], "val": [], "test": []}
    for label in sorted({lab for _, lab in samples}):
        order = sha_order([p for p, lab in samples if lab == label], spec.seed)
        n, train, test = len(order), Fraction(repr(spec.train)), Fraction(repr(spec.test))
        trainval = half_up(n * train)
        n_test = n - trainval if train + test == 1 else min(half_up(n * test), n - trainval)
        n_val = half_up(trainval * Fraction(repr(spec.val_fraction)))
        out["val"] += [(p, label) for p in order[:n_val]]
        out["train"] += [(p, label) for p in order[n_val:trainval]]
        out["test"] += [(p, label) for p in order[trainval:trainval + n_test]]
    return {name: sorted(items) for name, items in out.items()}


def tile_pairs(n_tiles, per_tile=3):
    """``per_tile`` patches of each of ``n_tiles`` tiles, grouped by the tile name."""
    return [(f"img/t{t:03d}_{k}.png", f"ann/t{t:03d}_{k}.png")
            for t in range(n_tiles) for k in range(per_tile)]


def tile_of(path):
    return path.split("/")[1].split("_")[0]


@pytest.mark.parametrize(("n", "fraction", "expected"), [
    (7, 0.5, 4),     # 3.5: halves go up, not to even
    (5, 0.1, 1),     # 0.5 up
    (45, 0.7, 32),   # exactly 31.5 in decimals (31.499999999999996 in floats)
    (90, 0.35, 32),  # exactly 31.5 again
    (24, 0.1, 2),    # 2.4 down
    (10, 0.0, 0),
])
def test_share_rounds_the_exact_decimal_half_up(n, fraction, expected):
    assert share(n, fraction) == expected


def test_seeded_order_is_the_sha256_order_of_seed_and_key():
    keys = ["b.tif", "a.tif", "c.tif", "d.tif"]
    digests = {k: hashlib.sha256(f"3:{k}".encode()).hexdigest() for k in keys}
    assert seeded_order(keys, 3) == sorted(keys, key=digests.__getitem__)
    assert seeded_order(keys, 3) != seeded_order(keys, 4)


def test_seeded_partition_keeps_groups_whole_and_items_in_their_order():
    items = tile_pairs(10)
    taken, rest = seeded_partition(items, lambda s: tile_of(s[0]), lambda n: 3, seed=0)
    taken_tiles = {tile_of(img) for img, _ in taken}
    assert len(taken_tiles) == 3 and len(taken) == 9
    assert taken_tiles.isdisjoint(tile_of(img) for img, _ in rest)
    assert sorted(taken + rest) == items
    assert taken == [s for s in items if s in taken] and rest == [s for s in items if s in rest]
    assert taken_tiles == set(seeded_order([f"t{t:03d}" for t in range(10)], 0)[:3])


@pytest.mark.parametrize("fraction", [0.0, 0.1])
def test_carve_with_the_fractions_tasks_use_is_unchanged(fraction):
    for n_tiles in range(0, 301):
        for seed in (0, 1):
            train = tile_pairs(n_tiles, per_tile=2)
            assert carve_val(train, fraction, seed, tile_of) == carve_before(train, fraction,
                                                                           seed, tile_of)


def test_carve_changes_where_floats_missed_the_half():
    train = tile_pairs(45, per_tile=1)
    _, val = carve_val(train, 0.7, 0, tile_of)
    _, val_before = carve_before(train, 0.7, 0, tile_of)
    assert (len(val), len(val_before)) == (32, 31)
    assert set(val_before) < set(val)  # the same order: one more group, the next one


@pytest.mark.parametrize("raw", [
    {"kind": "ratio", "train": 0.8, "test": 0.2, "val_fraction": 0.1, "seed": 0},
    {"kind": "ratio", "train": 0.5, "test": 0.5, "val_fraction": 0.1, "seed": 0},
    {"kind": "ratio", "train": 0.2, "test": 0.8, "val_fraction": 0.1, "seed": 0},
    {"kind": "ratio", "train": 0.1, "test": 0.9, "val_fraction": 0.1, "seed": 0},
    {"kind": "ratio", "train": 0.6, "test": 0.2, "val_fraction": 0.25, "seed": 7},
    {"kind": "ratio", "train": 0.7, "test": 0.3, "val_fraction": 0.0, "seed": 2},
])
def test_ratio_splits_are_unchanged(raw):
    spec = parse_split(raw)
    # classes of 1..60 images, so every rounding case of these fractions comes up
    samples = [(f"c{c:02d}/img{i:03d}.tif", c) for c in range(60) for i in range(c + 1)]
    assert ratio_split(samples, spec) == ratio_before(samples, spec)
