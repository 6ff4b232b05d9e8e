"""The pre-flight check on built data directly: band counts of multi-band rasters, split
counts, a missing listed raster, and the verdict cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from fake_data import generator

from rsbench import hashcache
from rsbench.config import DatasetSpec
from rsbench.data.build import build_classification_data
from rsbench.data.errors import DataError
from rsbench.data.preflight import preflight

EUROSAT_DIR = "ds/images/remote_sensing/otherDatasets/sentinel_2/tif"


@pytest.fixture
def eurosat(tmp_path):
    root = generator("eurosat").make(tmp_path / "eurosat", n_per_class=6)
    spec = DatasetSpec(name="eurosat", split={"kind": "official", "name": "torchgeo"},
                       image_size=8, bands=("R", "G", "B"))
    return root, lambda: build_classification_data(spec, tmp_path, tmp_path / "splits")


def test_a_raster_with_too_few_bands_is_named(eurosat):
    root, build = eurosat
    path = root / EUROSAT_DIR / "Forest" / "Forest_2.tif"
    with rasterio.open(path, "w", driver="GTiff", dtype="uint16", count=3, height=8,
                       width=8) as dst:
        dst.write(np.zeros((3, 8, 8), np.uint16))
    with pytest.raises(DataError) as err:
        preflight(build(), "t")
    assert str(err.value) == (
        f"t: dataset 'eurosat' at {root}: 1 of 60 samples fail the pre-flight check: "
        f"{EUROSAT_DIR}/Forest/Forest_2.tif (has 3 band(s), expected at least 4); replace or "
        f"remove them (re-extract the archive or prepare the dataset again) and run again; "
        f"nothing was trained")


def test_a_listed_raster_torchgeo_would_skip_is_named(eurosat):
    root, build = eurosat
    (root / EUROSAT_DIR / "River" / "River_3.tif").unlink()
    (split,) = [s for s in ("train", "val", "test")
                if "River_3.jpg" in (root / f"eurosat-{s}.txt").read_text().split()]
    with pytest.raises(DataError) as err:
        build()
    assert str(err.value) == (
        f"dataset 'eurosat' at {root}: eurosat-{split}.txt lists 1 image(s) not found under its "
        f"class folders: River_3.tif; restore them (re-extract the archive or pass --download) "
        f"so the {split} split has all its samples")


def test_a_split_holding_other_samples_than_its_file_is_refused(eurosat):
    data = eurosat[1]()
    data.test.samples.pop()
    with pytest.raises(DataError, match=r"test has 9 samples, its split file 10 \("):
        preflight(data, "t")


def test_the_verdict_is_kept_per_file_set_version(eurosat, tmp_path):
    root, build = eurosat
    hashcache.remember_in(tmp_path / "cache")
    try:
        data = build()
        assert preflight(data, "t")["preflight_cached"] == 0.0
        hashcache.forget_in_memory()
        assert preflight(data, "t")["preflight_cached"] == 1.0
        (root / EUROSAT_DIR / "Forest" / "Forest_1.tif").write_bytes(b"II*\0")
        with pytest.raises(DataError, match="Forest_1.tif"):
            preflight(data, "t")
        entries = list((tmp_path / "cache" / "hashes").glob("*.json"))
        assert len(entries) == 2  # the fingerprint and one verdict: one entry per file set
    finally:
        hashcache.remember_in(None)


def test_tiles_without_objects_pass(tmp_path):
    """Empty label files are tiles with no object (DOTA, xView tiles), not damage."""
    from fault_kit import prepare

    from rsbench.data.detection import build_detection_data

    generator("dota").make(tmp_path / "raw")
    assert prepare("dota", tmp_path / "raw", tmp_path / "dota", "--patch", "64",
                   "--overlap", "16") == 0
    assert any(p.stat().st_size == 0 for p in (tmp_path / "dota").rglob("*.txt"))
    spec = DatasetSpec(name="dota", split={"kind": "official"}, image_size=64)
    data = build_detection_data(spec, tmp_path, tmp_path / "splits")
    timings = preflight(data, "t")
    n = len(data.train) + len(data.val) + len(data.test)
    assert timings["preflight_files"] == 2 * n


def test_samples_checked_once_are_not_decoded_again_in_the_process(eurosat, monkeypatch):
    """A label-fraction task over a subset of checked files decodes none of them again."""
    import rsbench.data.preflight as pf

    data = eurosat[1]()
    calls = []
    real = pf.problem_of
    monkeypatch.setattr(pf, "problem_of", lambda *a: calls.append(a[2]) or real(*a))
    assert preflight(data, "t")["preflight_cached"] == 0.0
    assert len(calls) == 60
    data.train.samples.pop()  # another file set: its verdict is new, its samples are not
    doc = json.loads(data.split_file.read_text())
    doc["train"].pop()
    data.split_file.write_text(json.dumps(doc))
    assert preflight(data, "t")["preflight_cached"] == 0.0
    assert len(calls) == 60


def test_an_empty_test_split_is_refused_before_any_work(tmp_path):
    # UC Merced with 2 images per class: the 8:2 split's test share of 2 rounds to none.
    root = generator("ucmerced").make(tmp_path / "ucmerced", n_per_class=2)
    spec = DatasetSpec(name="ucmerced", split={"kind": "ratio", "train": 0.8, "test": 0.2, "seed": 0},
                       image_size=8)
    data = build_classification_data(spec, tmp_path, tmp_path / "splits")
    assert len(data.test) == 0 and len(data.train) == 42
    from rsbench.errors import MetricUndefined

    with pytest.raises(MetricUndefined) as err:
        preflight(data, "t", "overall_accuracy")
    assert str(err.value) == (
        f"t: dataset 'ucmerced' at {root}: the test split is empty, so 'overall_accuracy' has "
        "nothing to score (too few images per class for the split's ratios?); give the dataset "
        "more images or another split")


def test_slow_checks_go_to_threads_in_order_and_fast_ones_stay_here(monkeypatch):
    """``verdicts_of``: the first samples are timed in the calling thread; the rest go to the
    pool only when a check took over ``SLOW_SAMPLE_S``. Either way every verdict comes back
    in the jobs' order."""
    import threading
    import time

    from rsbench.data import preflight as module
    from rsbench.data.preflight import PROBE_SAMPLES, verdicts_of

    monkeypatch.setattr(module, "SLOW_SAMPLE_S", 0.02)  # far from both pauses below
    jobs = list(range(PROBE_SAMPLES + 8))

    def checking(pause: float):
        threads = set()

        def check(chunk):
            threads.add(threading.current_thread().name)
            time.sleep(pause * len(chunk))
            return [2 * job for job in chunk]

        return check, threads

    for pause, pooled in ((0.0, False), (0.04, True)):
        check, threads = checking(pause)
        assert verdicts_of(jobs, check, workers=2) == [2 * job for job in jobs]
        assert (threads != {threading.current_thread().name}) == pooled, pause
    check, threads = checking(0.04)
    assert verdicts_of(jobs, check, workers=1) == [2 * job for job in jobs]
    assert threads == {threading.current_thread().name}  # one worker: never a pool
