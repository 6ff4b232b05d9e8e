"""Label-efficiency train subsets: the count rule by hand, nestedness, split files and hashes."""

import json

import pytest
from fake_data import generator

from rsbench.config import LABEL_FRACTIONS, DatasetSpec, SpecError, task_from_dict
from rsbench.data import SplitConflict, SplitSpecError, build_classification_data, parse_split
from rsbench.data.detection.build import parse_det_split
from rsbench.data.fractions import fraction_count, group_subset, stratified_subset
from rsbench.data.segmentation import build_segmentation_data
from rsbench.data.split_files import read_split_file

R82 = {"kind": "ratio", "train": 0.8, "test": 0.2, "val_fraction": 0.1, "seed": 0}


def hand_samples(n_classes: int, per_class: list[int] | int) -> list[tuple[str, int]]:
    sizes = per_class if isinstance(per_class, list) else [per_class] * n_classes
    return [(f"c{c}/img{i:02d}.tif", c) for c in range(n_classes) for i in range(sizes[c])]


def per_class(samples) -> dict[int, int]:
    out: dict[int, int] = {}
    for _, label in samples:
        out[label] = out.get(label, 0) + 1
    return out


# -- the count rule ---------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "fraction", "expected"), [
    (13, 0.01, 1),   # 0.13 floors to 0, at least one per class
    (13, 0.05, 1),   # 0.65 -> 1
    (13, 0.1, 1),    # 1.3 -> 1
    (13, 0.2, 2),    # 2.6 -> 2 (floor, as GEO-Bench's int(len * fraction))
    (13, 0.5, 6),    # 6.5 -> 6, never rounded up
    (13, 1.0, 13),
    (100, 0.29, 29),  # exact decimal: 100 * 0.29 is 28.999999999999996 in floats
    (72, 0.05, 3),   # 3.6 -> 3
    (0, 0.5, 0),     # an empty class stays empty
])
def test_fraction_count_by_hand(n, fraction, expected):
    assert fraction_count(n, fraction) == expected


def test_seven_classes_of_thirteen_by_hand():
    samples = hand_samples(7, 13)
    # per class 13 x f floored, at least 1: 5 % -> 1, 20 % -> 2, 50 % -> 6, 100 % -> 13
    for fraction, each in ((0.05, 1), (0.2, 2), (0.5, 6), (1.0, 13)):
        subset = stratified_subset(samples, fraction, seed=0)
        assert per_class(subset) == dict.fromkeys(range(7), each)
        assert len(subset) == 7 * each
        assert subset == sorted(subset) and set(subset) <= set(samples)


def test_unequal_classes_are_floored_each_on_their_own():
    samples = hand_samples(3, [40, 9, 101])
    # 10 %: 4.0 -> 4, 0.9 -> 1 (at least one), 10.1 -> 10. 2 %: 0.8 -> 1, 0.18 -> 1, 2.02 -> 2,
    # 4 in all where a floor of the pooled 150 (GEO-Bench's) would keep 3.
    assert per_class(stratified_subset(samples, 0.1, seed=3)) == {0: 4, 1: 1, 2: 10}
    assert per_class(stratified_subset(samples, 0.02, seed=3)) == {0: 1, 1: 1, 2: 2}


@pytest.mark.parametrize("seed", [0, 1, 2, 7, 123])
def test_subsets_are_nested_for_every_seed(seed):
    samples = hand_samples(5, [13, 50, 7, 101, 30])
    subsets = [set(stratified_subset(samples, f, seed)) for f in LABEL_FRACTIONS]
    for small, large in zip(subsets, subsets[1:], strict=False):
        assert small <= large
    assert subsets[-1] == set(samples)


def test_seeds_draw_different_subsets_and_input_order_does_not_matter():
    samples = hand_samples(4, 60)
    a = stratified_subset(samples, 0.1, seed=0)
    assert stratified_subset(list(reversed(samples)), 0.1, seed=0) == a
    assert stratified_subset(samples, 0.1, seed=1) != a
    assert stratified_subset(samples, None, seed=0) == samples


def test_group_subset_keeps_whole_groups_nested():
    pairs = [(f"tile{t}_{p}.png", f"tile{t}_{p}_mask.png") for t in range(10) for p in range(3)]
    group = lambda img: img.split("_")[0]  # noqa: E731
    previous: set = set()
    for fraction, n_groups in ((0.01, 1), (0.1, 1), (0.2, 2), (0.5, 5), (1.0, 10)):
        kept = group_subset(pairs, fraction, 4, group)
        assert len({group(i) for i, _ in kept}) == n_groups and len(kept) == 3 * n_groups
        assert previous <= set(kept)
        previous = set(kept)


# -- spec validation --------------------------------------------------------------------------

BAD = [0, 0.0, 1.5, -0.1, 0.3, True, "0.1", None]


@pytest.mark.parametrize("value", BAD)
def test_task_spec_rejects_bad_fractions_in_one_line(value):
    task = {"task": "t", "version": 1, "type": "classification", "protocol": {"name": "knn"},
            "metrics": {"primary": "overall_accuracy", "higher_is_better": True},
            "dataset": {"name": "ucmerced", "image_size": 32,
                        "split": {**R82, "train_fraction": value}}}
    with pytest.raises(SpecError, match=r"^t\.yaml: dataset\.split\.train_fraction must be one "
                                        r"of \[0\.01, .*1\.0\], got ") as err:
        task_from_dict(task, "t.yaml")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value", BAD)
def test_split_parser_rejects_bad_fractions(value):
    with pytest.raises(SplitSpecError, match=r"^dataset\.split\.train_fraction must be one of"):
        parse_split({**R82, "train_fraction": value}, with_fraction=True)


def test_fraction_only_where_a_builder_applies_it():
    with pytest.raises(SplitSpecError, match=r"unknown field\(s\) \['train_fraction'\]"):
        parse_split({**R82, "train_fraction": 0.1})  # e.g. detection's ratio splits
    with pytest.raises(SplitSpecError, match="seed: an official split takes a seed only with"):
        parse_split({"kind": "official", "seed": 1}, ("torchgeo",), with_fraction=True)

    class Det:
        name, split_kind, official_names = "dior", "official", {"official": "note"}

    with pytest.raises(SplitSpecError, match=r"unknown field\(s\) \['train_fraction'\]"):
        parse_det_split({"kind": "official", "train_fraction": 0.1}, Det())


def test_spec_dicts_and_stems():
    ratio = parse_split({**R82, "train_fraction": 0.05}, with_fraction=True)
    assert ratio.to_dict() == {**R82, "train_fraction": 0.05}
    assert ratio.file_stem("ucmerced") == "ucmerced_ratio_0.8_0.2_val0.1_seed0_frac0.05"
    assert parse_split(R82, with_fraction=True).to_dict() == R82  # no field, hash unchanged
    whole = parse_split({**R82, "train_fraction": 1}, with_fraction=True)
    assert whole.train_fraction == 1.0 and whole.file_stem("x").endswith("_frac1.0")
    official = parse_split({"kind": "official", "train_fraction": 0.2, "seed": 3},
                           ("torchgeo",), with_fraction=True)
    assert official.to_dict() == {"kind": "official", "name": "torchgeo", "train_fraction": 0.2,
                                  "seed": 3}
    assert official.file_stem("eurosat") == "eurosat_official_torchgeo_frac0.2_seed3"


# -- built data, split files and hashes -------------------------------------------------------

@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("frac") / "data"
    generator("ucmerced").make(root / "ucmerced", n_per_class=13, size=8, seed=0)
    generator("loveda").make(root / "loveda", n_per_split=20, size=16, seed=0)
    return root


def build(data_root, split_dir, split):
    return build_classification_data(DatasetSpec("ucmerced", split, 8), data_root, split_dir)


def test_ratio_fractions_cut_only_train_and_hash_apart(data_root, tmp_path):
    full = build(data_root, tmp_path, R82)
    built = {f: build(data_root, tmp_path, {**R82, "train_fraction": f}) for f in LABEL_FRACTIONS}
    # 13 per class: trainval = round(10.4) = 10, val = round(1.0) = 1, train 9, test 3.
    assert (len(full.train), len(full.val), len(full.test)) == (21 * 9, 21, 21 * 3)
    # train per class 9 x f floored, at least one: 1..10 % -> 1, 20 % -> 1 (1.8), 50 % -> 4
    expected = {0.01: 1, 0.02: 1, 0.05: 1, 0.1: 1, 0.2: 1, 0.5: 4, 1.0: 9}
    for f, data in built.items():
        assert len(data.train) == 21 * expected[f]
        assert data.val.samples == full.val.samples and data.test.samples == full.test.samples
        assert data.split_file.name == f"ucmerced_ratio_0.8_0.2_val0.1_seed0_frac{f!r}.json"
        doc = json.loads(data.split_file.read_text())
        assert doc["split"]["train_fraction"] == f and doc["counts"]["train"] == len(data.train)
    assert built[1.0].train.samples == full.train.samples  # 100 % is the whole train split
    hashes = [d.split_hash for d in built.values()]
    assert len(set(hashes + [full.split_hash])) == len(hashes) + 1
    trains = [set(d.train.samples) for d in built.values()]
    assert all(a <= b for a, b in zip(trains, trains[1:], strict=False))
    again = build(data_root, tmp_path, {**R82, "train_fraction": 0.5})
    assert again.split_hash == built[0.5].split_hash  # same content: file reused, same hash
    summaries = [built[f].summary() for f in (0.05, 0.1)]
    assert [s["split"]["train_fraction"] for s in summaries] == [0.05, 0.1]
    assert summaries[0]["split_hash"] != summaries[1]["split_hash"]


def test_changed_subset_content_conflicts(data_root, tmp_path):
    data = build(data_root, tmp_path, {**R82, "train_fraction": 0.2})
    doc = read_split_file(data.split_file)
    data.split_file.write_text(data.split_file.read_text().replace(doc["train"][0][0], "x.tif"))
    with pytest.raises(SplitConflict, match="exists with different content"):
        build(data_root, tmp_path, {**R82, "train_fraction": 0.2})


def test_official_split_fraction_is_seeded(data_root, tmp_path):
    full = build(data_root, tmp_path, {"kind": "official"})
    part = {s: build(data_root, tmp_path, {"kind": "official", "train_fraction": 0.5, "seed": s})
            for s in (0, 1)}
    # torchgeo's 60/20/20 lists of the fake data: 13 per class -> per-class train n, 50 % floored
    n_train = per_class(full.train.samples)
    assert per_class(part[0].train.samples) == {c: max(1, n // 2) for c, n in n_train.items()}
    assert set(part[0].train.samples) <= set(full.train.samples)
    assert part[0].train.samples != part[1].train.samples
    assert part[0].test.samples == full.test.samples and part[0].val.samples == full.val.samples
    assert part[0].split_hash != part[1].split_hash != full.split_hash


def test_loveda_fraction_of_training_images(data_root, tmp_path):
    def seg(split):
        return build_segmentation_data(DatasetSpec("loveda", split, 16), data_root, tmp_path)

    full = seg({"kind": "official"})
    assert len(full.train) == 20  # Urban + Rural
    parts = [seg({"kind": "official", "train_fraction": f}) for f in (0.05, 0.2, 0.5, 1.0)]
    assert [len(p.train) for p in parts] == [1, 4, 10, 20]  # 20 x f floored, at least one
    assert parts[-1].train.samples == full.train.samples
    assert all(set(a.train.samples) <= set(b.train.samples) for a, b in zip(parts, parts[1:],
                                                                             strict=False))
    assert all(p.test.samples == full.test.samples for p in parts)
    assert parts[1].split_file.name == "loveda_official_val-as-test_frac0.2_seed0.json"
    assert parts[1].summary()["split"]["train_fraction"] == 0.2
    assert len({p.split_hash for p in parts} | {full.split_hash}) == 5
    with pytest.raises(SplitSpecError, match="train_fraction must be one of"):
        seg({"kind": "official", "train_fraction": 0.0})
