"""The shipped label-efficiency tasks and suite: every family at all seven fractions, specs that
keep val's labels out of training, and a suite that lists exactly those tasks."""

import re
import warnings

from rsbench.config import LABEL_FRACTIONS, find_task, task_files
from rsbench.leaderboard import SuiteWarning, load_suite

FAMILIES = {  # family -> (base task it subsets, number of classes; None for mIoU)
    "ucmerced_8_2_linear_probe": ("ucmerced_8_2_linear_probe", 21),
    "ucmerced_8_2_knn": ("ucmerced_8_2_knn", 21),
    "aid_5_5_linear_probe": ("aid_5_5_linear_probe", 30),
    "aid_5_5_knn": ("aid_5_5_knn", 30),
    "resisc45_2_8_linear_probe": ("resisc45_2_8_linear_probe", 45),
    "resisc45_2_8_knn": ("resisc45_2_8_knn", 45),
    "eurosat_official_linear_probe": ("eurosat_official_linear_probe", 10),
    "loveda_frozen": ("loveda_frozen", None),
}
PERCENT = (1, 2, 5, 10, 20, 50, 100)
NAME = re.compile(r"^(?P<family>.+)_frac(?P<pct>\d+)$")


def frac_tasks() -> list[str]:
    return sorted(p.stem for p in task_files() if NAME.match(p.stem))


def test_every_family_has_the_seven_fractions_named_by_percent():
    names = frac_tasks()
    assert names == sorted(f"{fam}_frac{p}" for fam in FAMILIES for p in PERCENT)
    for name in names:
        m = NAME.match(name)
        spec = find_task(name)
        assert spec.dataset.split["train_fraction"] == int(m["pct"]) / 100
        assert spec.version == 1


def test_fraction_tasks_differ_from_their_base_only_where_they_must():
    for family, (base, _) in FAMILIES.items():
        ref = find_task(base)
        for pct, fraction in zip(PERCENT, LABEL_FRACTIONS, strict=True):
            spec = find_task(f"{family}_frac{pct}")
            assert spec.type == ref.type and spec.metrics == ref.metrics
            assert spec.dataset.name == ref.dataset.name
            split = dict(spec.dataset.split)
            assert split.pop("train_fraction") == fraction
            protocol = dict(spec.protocol)
            if ref.protocol_name == "linear_probe":  # refit on train+val would add val's labels
                assert protocol.pop("refit_on_trainval") is False
                assert ref.protocol["refit_on_trainval"] is True
            if ref.protocol_name == "knn":  # the bank is train + val: no val is carved
                assert split.pop("val_fraction") == 0.0
                ref_split = {k: v for k, v in ref.dataset.split.items() if k != "val_fraction"}
            else:
                ref_split = ref.dataset.split
            assert split == ref_split
            assert {k: v for k, v in protocol.items() if k != "refit_on_trainval"} == {
                k: v for k, v in ref.protocol.items() if k != "refit_on_trainval"}


def test_suite_lists_every_fraction_task_with_chance_baselines():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SuiteWarning)
        suite = load_suite("label_efficiency")
    assert sorted(suite.tasks) == frac_tasks()
    for task in suite.tasks:
        classes = FAMILIES[NAME.match(task)["family"]][1]
        low = 0.0 if classes is None else round(1 / classes, 6)
        assert suite.baselines[task] == (low, 1.0)
    assert suite.seeds == (0, 1, 2, 3, 4) and suite.min_seeds == 5
