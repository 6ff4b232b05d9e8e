"""What a whole suite costs against its floor: backbone forwards, wall time, re-runs, probe heads.

Rows (one JSON line each, with the machine's load average):

- ``forwards``: the classification suite's nine frozen tasks (linear probe on UC Merced 8:2 and
  5:5, AID 2:8 and 5:5, NWPU-RESISC45 1:9 and 2:8; kNN on UCM 8:2, AID 2:8, NWPU 1:9) through
  ``rsbench run`` on fake data in the real layouts, ``--per-class`` images per class (the real
  datasets hold 100, 220-420 and 700), at ``--image-size``: backbone forwards against distinct
  images, the run's wall time against a bare loop (the same decode, resize and forward pass over
  each distinct image once, batch 64, no Lightning, no data checks), the same in CPU seconds
  of this process (all its threads), and where the run's time went: the suite plan's data
  checks and split builds, its extraction, and the runs' heads, kNN and pre-flights (from the
  records); ``--repeat`` runs it that often (a fresh cache each time) and adds the medians;
- ``rerun``: ``rsbench run`` of an all-recorded 20-record suite in a new process (median of 5),
  and whether torch was imported;
- ``heads``: the batched probe (``rsbench.protocols.probe_heads``) on ``--n`` x ``--dim`` random
  features, 6 grid values, the recipe's batch 256 unless ``--batch-size``, ``--epochs`` timed and
  scaled to 90; with the sweep's arithmetic (two GEMMs per head per sample) as a FLOP floor.

    python benchmarks/suite_cost.py forwards rerun heads --heads-epochs 3

The defaults (ViT-Ti/16 at 32 px, 100 images per class: 9,600 images) fit a 2-core machine;
``--arch vit_small_patch16 --image-size 224 --per-class 20 --set
dataset.split.val_fraction=0.5`` (1,920 images; the larger val fraction leaves every split a
val set at 20 images per class) is a case where the forward pass dominates. ``--threads N`` sets torch's intra-op threads for the whole process first (on a
shared machine, 1 keeps both sides of the ratio off the OpenMP barrier of a descheduled thread).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the fake-data generators in the datasets' layouts
PROBES = ["ucmerced_8_2_linear_probe", "ucmerced_5_5_linear_probe", "aid_2_8_linear_probe",
          "aid_5_5_linear_probe", "resisc45_1_9_linear_probe", "resisc45_2_8_linear_probe"]
KNNS = ["ucmerced_8_2_knn", "aid_2_8_knn", "resisc45_1_9_knn"]
CLASSES = {"ucmerced": 21, "aid": 30, "resisc45": 45}


def emit(row: dict) -> None:
    print(json.dumps({**row, "load_avg_1m": round(os.getloadavg()[0], 2),
                      "cpus": len(os.sched_getaffinity(0))}), flush=True)


def cpu_s() -> float:
    """CPU seconds of this process so far, every thread."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare_loop_s(files: list[Path], arch: str, size: int) -> tuple[float, float]:
    """(wall, CPU) seconds to decode, resize and run a random ``arch`` over ``files`` once,
    batch 64."""
    import torch

    from rsbench.backbones import InputSpec, build_backbone
    from rsbench.data.dataset import SceneDataset
    from rsbench.data.decode import RGBReader

    torch.manual_seed(0)
    backbone = build_backbone(arch, InputSpec(img_size=size)).eval()
    data = SceneDataset(Path("/"), [(str(f), 0) for f in files], RGBReader(), size)
    start, cpu = time.perf_counter(), cpu_s()
    with torch.inference_mode():
        for images, _ in torch.utils.data.DataLoader(data, batch_size=64):
            backbone.pooled(images)
    return time.perf_counter() - start, cpu_s() - cpu


def timed_plan(into: dict):
    """``prefetched`` (the suite plan's extraction), recording its counts and seconds."""
    import rsbench.protocols.frozen_features as frozen

    original = frozen.prefetched

    def prefetched(*a, **k):
        start = time.perf_counter()
        counts = original(*a, **k)
        into.update(counts, plan_s=time.perf_counter() - start)
        return counts

    return original, prefetched


def record_seconds(out: Path) -> dict:
    """The runs' own timings, summed over the records: heads, kNN, pre-flight."""
    sums = dict.fromkeys(("head_s", "knn_s", "preflight_s", "total_s"), 0.0)
    for path in out.rglob("*.json"):
        timings = json.loads(path.read_text()).get("timings", {})
        for key in sums:
            sums[key] += float(timings.get(key, 0.0))
    return {f"runs_{k}": round(v, 2) for k, v in sums.items()}


def one_suite(args, work: Path, data: Path, files: list[Path], n: int) -> dict:
    """One fresh run of the suite and of the bare loop; the row's figures."""
    import rsbench.protocols.frozen_features as frozen
    from rsbench import hashcache
    from rsbench.cli import main
    from rsbench.engine.features import forwarded_images

    hashcache.forget_in_memory()  # as a new process starts: nothing checked, nothing resolved
    card = work / "card.yaml"
    card.write_text(f"name: random\narch: {args.arch}\nrandom_init: true\n")
    plan: dict = {}
    original, frozen.prefetched = timed_plan(plan)
    before, start, cpu = forwarded_images(), time.perf_counter(), cpu_s()
    try:
        rc = main(["run", "--model", str(card), "--tasks", ",".join(PROBES + KNNS), "--seeds",
                   "0", "--out", str(work / f"out{n}"), "--data-root", str(data), "--cache-dir",
                   str(work / f"cache{n}"), "--accelerator", "cpu", "--quiet",
                   "--set", f"dataset.image_size={args.image_size}",
                   *[a for extra in args.set for a in ("--set", extra)]])
    finally:
        frozen.prefetched = original
    wall, cpu = time.perf_counter() - start, cpu_s() - cpu
    forwards = forwarded_images() - before
    bare, bare_cpu = bare_loop_s(files, args.arch, args.image_size)
    return {"rc": rc, "backbone_forwards": forwards,
            "forwards_per_image": round(forwards / len(files), 3),
            "suite_wall_s": round(wall, 2), "bare_forward_loop_s": round(bare, 2),
            "wall_vs_forwards": round(wall / bare, 3), "suite_cpu_s": round(cpu, 2),
            "bare_cpu_s": round(bare_cpu, 2), "cpu_vs_forwards": round(cpu / bare_cpu, 3),
            "plan_extraction_s": round(plan.get("features_s", 0.0), 2),
            "plan_checks_and_splits_s": round(plan.get("plan_s", 0.0)
                                              - plan.get("features_s", 0.0), 2),
            **record_seconds(work / f"out{n}")}


def forwards_row(args, work: Path) -> None:
    import torch
    from fake_data import generator

    data = work / "data"
    for name in CLASSES:
        generator(name).make(data / name, n_per_class=args.per_class, size=args.image_size, seed=0)
    files = sorted(p for p in data.rglob("*") if p.suffix in (".tif", ".jpg"))
    head = {"row": "forwards", "arch": args.arch, "image_size": args.image_size,
            "per_class": args.per_class, "tasks": len(PROBES + KNNS), "distinct_images": len(files),
            "threads": torch.get_num_threads(), "set": args.set}
    rows = []
    for n in range(args.repeat):
        rows.append(one_suite(args, work, data, files, n))
        emit({**head, "repeat": n, **rows[-1]})
    if args.repeat > 1:
        numbers = [k for k, v in rows[0].items() if isinstance(v, float)]
        emit({**head, "repeat": "median",
              **{k: round(statistics.median(r[k] for r in rows), 3) for k in numbers}})


def rerun_row(args, work: Path) -> None:
    import yaml

    from rsbench import hashcache
    from rsbench.config import find_task, load_card
    from rsbench.engine.trainer import EngineOptions
    from rsbench.loaded_model import LoadedModel
    from rsbench.protocols.base import ProtocolResult
    from rsbench.results import ResultStore
    from rsbench.runner import RunOptions, assembled, run_inputs

    tasks = PROBES + KNNS + ["ucmerced_5_5_knn"]  # 10 tasks x 2 seeds
    (work / "weights.bin").write_bytes(os.urandom(1 << 20))
    card = work / "rerun_card.yaml"
    card.write_text(yaml.safe_dump({"name": "m", "arch": "vit_small_patch16",
                                    "checkpoint": "weights.bin"}))
    opts = RunOptions(out=work / "rerun_out", cache_dir=work / "rerun_cache",
                      engine=EngineOptions(accelerator="cpu"))
    hashcache.remember_in(opts.cache_dir)
    model, store = LoadedModel(load_card(card), opts), ResultStore(opts.out)
    for name in tasks:
        task = find_task(name)
        for seed in (0, 1):
            store.write(assembled(model, task, seed, opts, run_inputs(model, task, seed, opts),
                                  time.perf_counter(), ProtocolResult({"overall_accuracy": 0.5}, {}),
                                  None, None))
    code = ("import sys; from rsbench.cli import main; rc = main(sys.argv[1:]); "
            "print('TORCH', 'torch' in sys.modules, file=sys.stderr); sys.exit(rc)")
    argv = [sys.executable, "-c", code, "run", "--model", str(card), "--tasks", ",".join(tasks),
            "--seeds", "0,1", "--out", str(opts.out), "--cache-dir", str(opts.cache_dir),
            "--accelerator", "cpu", "--quiet"]
    times, torch_seen, records = [], [], 0
    for _ in range(5):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        torch_seen.append("TORCH True" in done.stderr)
        records = json.loads(done.stdout)["records"]
    emit({"row": "rerun", "records": records, "median_s": round(statistics.median(times), 3),
          "max_s": round(max(times), 3), "torch_imported": any(torch_seen)})


def heads_row(args) -> None:
    from types import SimpleNamespace

    import torch

    from rsbench.engine import EngineOptions
    from rsbench.protocols.linear_probe import DEFAULTS
    from rsbench.protocols.probe_heads import fitted_heads

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, args.dim, generator=g)
    y = torch.randint(0, args.classes, (args.n,), generator=g)
    hp = {**DEFAULTS, "epochs": args.heads_epochs,
          "batch_size": args.batch_size or DEFAULTS["batch_size"]}
    ctx = SimpleNamespace(seed=0, opts=EngineOptions(accelerator="cpu", progress=False))
    start = time.perf_counter()
    fitted_heads(x, y, args.classes, [(0, blr) for blr in DEFAULTS["blr_grid"]], hp, ctx)
    seconds = time.perf_counter() - start
    grid = len(DEFAULTS["blr_grid"])
    flop_90 = 90 * grid * 2 * 2 * args.n * args.dim * args.classes  # forward + weight gradient
    emit({"row": "heads", "n": args.n, "dim": args.dim, "classes": args.classes, "grid": grid,
          "batch_size": hp["batch_size"], "epochs_timed": args.heads_epochs,
          "threads": torch.get_num_threads(), "seconds": round(seconds, 2),
          "seconds_for_90_epochs": round(seconds * 90 / args.heads_epochs, 1),
          "gemm_tflop_for_90_epochs": round(flop_90 / 1e12, 2),
          "achieved_gflop_s": round(flop_90 * args.heads_epochs / 90 / seconds / 1e9, 1)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rows", nargs="+", choices=["forwards", "rerun", "heads"])
    p.add_argument("--arch", default="vit_tiny_patch16")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--per-class", type=int, default=100, help="100: every split has a val set")
    p.add_argument("--n", type=int, default=31_500)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--classes", type=int, default=45)
    p.add_argument("--heads-epochs", type=int, default=90)
    p.add_argument("--batch-size", type=int, help="probe batch (default: the recipe's 256)")
    p.add_argument("--repeat", type=int, default=1, help="forwards: fresh runs, then medians")
    p.add_argument("--threads", type=int, help="torch intra-op threads, and the heads' lanes (default: torch's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="forwards: more task overrides for rsbench run (e.g. a val fraction that "
                        "leaves every split a val set at few images per class)")
    args = p.parse_args()
    if args.threads:  # every row's: the forwards' runs and bare loop, and the heads' lanes
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        for row in args.rows:
            if row == "forwards":
                forwards_row(args, Path(tmp))
            elif row == "rerun":
                rerun_row(args, Path(tmp))
            else:
                heads_row(args)


if __name__ == "__main__":
    main()
