"""What a whole suite costs against its floor: backbone forwards, wall time, re-runs, probe heads.

Rows (one JSON line each, with the machine's load average):

- ``forwards``: the classification suite's nine frozen tasks (linear probe on UC Merced 8:2 and
  5:5, AID 2:8 and 5:5, NWPU-RESISC45 1:9 and 2:8; kNN on UCM 8:2, AID 2:8, NWPU 1:9) through
  ``rsbench run`` on fake data in the real layouts, ``--per-class`` images per class (the real
  datasets hold 100, 220-420 and 700), at ``--image-size``: backbone forwards against distinct
  images, the run's wall time against a bare loop (the same decode, resize and forward pass over
  each distinct image once, batch 64, no Lightning, no data checks);
- ``rerun``: ``rsbench run`` of an all-recorded 20-record suite in a new process (median of 5),
  and whether torch was imported;
- ``heads``: the batched probe (``rsbench.protocols.probe_heads``) on ``--n`` x ``--dim`` random
  features, 6 grid values, the recipe's batch 256 unless ``--batch-size``, ``--epochs`` timed and
  scaled to 90; with the sweep's arithmetic (two GEMMs per head per sample) as a FLOP floor.

    python benchmarks/suite_cost.py forwards rerun heads --heads-epochs 3

The defaults (ViT-Ti/16 at 32 px, 100 images per class: 9,600 images) fit a 2-core machine.
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


def bare_loop_s(files: list[Path], arch: str, size: int) -> float:
    """Seconds to decode, resize and run a random ``arch`` over ``files`` once, batch 64."""
    import torch

    from rsbench.backbones import InputSpec, build_backbone
    from rsbench.data.dataset import SceneDataset
    from rsbench.data.decode import RGBReader

    torch.manual_seed(0)
    backbone = build_backbone(arch, InputSpec(img_size=size)).eval()
    data = SceneDataset(Path("/"), [(str(f), 0) for f in files], RGBReader(), size)
    start = time.perf_counter()
    with torch.inference_mode():
        for images, _ in torch.utils.data.DataLoader(data, batch_size=64):
            backbone.pooled(images)
    return time.perf_counter() - start


def forwards_row(args, work: Path) -> None:
    from fake_data import generator

    from rsbench.cli import main
    from rsbench.engine.features import forwarded_images

    data = work / "data"
    for name in CLASSES:
        generator(name).make(data / name, n_per_class=args.per_class, size=args.image_size, seed=0)
    files = sorted(p for p in data.rglob("*") if p.suffix in (".tif", ".jpg"))
    card = work / "card.yaml"
    card.write_text(f"name: random\narch: {args.arch}\nrandom_init: true\n")
    before, start = forwarded_images(), time.perf_counter()
    rc = main(["run", "--model", str(card), "--tasks", ",".join(PROBES + KNNS), "--seeds", "0",
               "--out", str(work / "out"), "--data-root", str(data), "--cache-dir",
               str(work / "cache"), "--accelerator", "cpu", "--quiet",
               "--set", f"dataset.image_size={args.image_size}"])
    wall = time.perf_counter() - start
    forwards = forwarded_images() - before
    bare = bare_loop_s(files, args.arch, args.image_size)
    emit({"row": "forwards", "rc": rc, "arch": args.arch, "image_size": args.image_size,
          "per_class": args.per_class, "tasks": len(PROBES + KNNS), "distinct_images": len(files),
          "backbone_forwards": forwards, "forwards_per_image": round(forwards / len(files), 3),
          "suite_wall_s": round(wall, 2), "bare_forward_loop_s": round(bare, 2),
          "wall_vs_forwards": round(wall / bare, 3)})


def rerun_row(args, work: Path) -> None:
    import yaml

    from rsbench import hashcache
    from rsbench.config import find_task, load_card
    from rsbench.engine.trainer import EngineOptions
    from rsbench.protocols.base import ProtocolResult
    from rsbench.results import ResultStore
    from rsbench.runner import LoadedModel, RunOptions, assembled, run_inputs

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
    fitted_heads(x, y, args.classes, DEFAULTS["blr_grid"], hp, ctx)
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
    args = p.parse_args()
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
