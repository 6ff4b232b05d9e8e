"""What the pre-flight check costs against one epoch of reading the same data.

Writes synthetic UC Merced (``--per-class`` x 21 RGB TIFFs of ``--size`` px, the real layout)
and synthetic LoveDA (``--pairs`` image + mask PNGs per split), builds each dataset as a run
does, then times: the pre-flight check on a cold cache (every file decoded), the same check in a
new process's position (in-memory values dropped, the verdict read from the cache folder), and
one epoch over the train split as the protocols read it (every sample decoded and resized, one
process). Prints one JSON line per dataset. Usage::

    .venv/bin/python benchmarks/preflight.py --per-class 100 --size 256 --pairs 500
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rsbench import hashcache
from rsbench.config import DatasetSpec
from rsbench.data import build_classification_data, make_synthetic_ucmerced
from rsbench.data.preflight import preflight
from rsbench.data.segmentation import build_segmentation_data, make_synthetic_loveda


def seconds(work) -> tuple[float, object]:
    """``(wall-clock seconds, result)`` of ``work()``."""
    start = time.perf_counter()
    out = work()
    return time.perf_counter() - start, out


def epoch_s(dataset) -> float:
    """Seconds to read every sample of ``dataset`` once, in order."""
    start = time.perf_counter()
    for i in range(len(dataset)):
        dataset[i]
    return time.perf_counter() - start


def measured(name: str, data, workers: int) -> dict:
    """Cold and cached pre-flight seconds and one train epoch, for ``data``."""
    cold_s, cold = seconds(lambda: preflight(data, name, workers=workers))
    hashcache.forget_in_memory()  # what a new process starts with: only the disk cache
    warm_s, warm = seconds(lambda: preflight(data, name, workers=workers))
    assert (cold["preflight_cached"], warm["preflight_cached"]) == (0.0, 1.0)
    epoch = epoch_s(data.train)
    return {"dataset": name, "files": int(cold["preflight_files"]),
            "samples": len(data.train) + len(data.val) + len(data.test),
            "train_samples": len(data.train), "workers": workers,
            "preflight_cold_s": round(cold_s, 3), "preflight_cached_s": round(warm_s, 4),
            "train_epoch_read_s": round(epoch, 3),
            "cold_over_epoch": round(cold_s / epoch, 3), "cached_over_epoch": round(warm_s / epoch, 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100, help="UC Merced images per class")
    parser.add_argument("--size", type=int, default=256, help="UC Merced image size (px)")
    parser.add_argument("--pairs", type=int, default=500, help="LoveDA pairs per split")
    parser.add_argument("--pair-size", type=int, default=256, help="LoveDA image size (px)")
    parser.add_argument("--workers", type=int, default=2, help="pre-flight decoding threads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hashcache.remember_in(tmp / "cache")
        make_synthetic_ucmerced(tmp / "ucmerced", n_per_class=args.per_class, size=args.size,
                                seed=0)
        spec = DatasetSpec(name="ucmerced", image_size=224, bands=["R", "G", "B"],
                           split={"kind": "ratio", "train": 0.8, "test": 0.2,
                                  "val_fraction": 0.1, "seed": 0})
        data = build_classification_data(spec, tmp, tmp / "splits")
        print(json.dumps(measured("ucmerced", data, args.workers)), flush=True)
        make_synthetic_loveda(tmp / "loveda", args.pairs, args.pair_size, 0)
        spec = DatasetSpec(name="loveda", image_size=args.pair_size, bands=["R", "G", "B"],
                           split={"kind": "official", "name": "val-as-test"})
        data = build_segmentation_data(spec, tmp, tmp / "splits")
        print(json.dumps(measured("loveda", data, args.workers)), flush=True)


if __name__ == "__main__":
    main()
