"""Training throughput and peak memory per device of fine-tuning a ViT: DDP vs FSDP, side by side.

Both strategies train the classification fine-tune module itself
(``rsbench.protocols.finetune.Finetuner``: layer-decayed AdamW, mixup, drop path 0.1) on the
same synthetic images with the same global batch, through ``make_trainer`` with
``EngineOptions(strategy="ddp" | "fsdp")``; the FSDP plan (sharding, activation checkpointing)
is whatever ``--strategy fsdp`` would choose in a real run, unless ``--sharding`` overrides it.

Each strategy runs in a fresh interpreter (this script with ``--only``): a process that has
initialised one distributed strategy cannot cleanly start another, and peaks must not carry over.

    python benchmarks/fsdp_throughput.py --arch vit_large_patch16_224 --devices 8

Throughput: images per second per device over the steps after ``--warmup`` (CUDA-synchronised
wall clock of the slowest rank). Memory on GPUs: ``max_memory_allocated`` (tensors) and
``max_memory_reserved`` (what the caching allocator took), the largest over ranks. On CPU
(``--accelerator cpu``, gloo) there is no device memory: the peak resident set size per process
is reported instead and labelled so, a smoke check of the script rather than a result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# This script's folder is on sys.path when it runs; the peak-RSS reader is fsdp_memory's.
from fsdp_memory import MIB, max_rss_bytes

MARK = "RSBENCH_FSDP_THROUGHPUT "


def make_timer(args):
    """A Callback timing the steps after warm-up; rank 0 ends up with every rank's figures."""
    import lightning as L
    import torch

    class StepTimer(L.Callback):
        def __init__(self) -> None:
            self.start = 0.0
            self.result = None

        def _now(self, module) -> float:
            if module.device.type == "cuda":
                torch.cuda.synchronize(module.device)  # kernels are asynchronous: wait for them
            return time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            if batch_idx + 1 == args.warmup:
                self.start = self._now(module)
            elif batch_idx + 1 == args.warmup + args.steps:
                self.result = gather(trainer, module, self._now(module) - self.start)

    return StepTimer()


def gather(trainer, module, elapsed: float) -> list[dict]:
    """This rank's time and memory peaks, collected from every rank (meaningful on rank 0)."""
    import torch

    mine = {"rank": trainer.global_rank, "timed_s": elapsed}
    if module.device.type == "cuda":
        mine["max_allocated_mib"] = torch.cuda.max_memory_allocated(module.device) / MIB
        mine["max_reserved_mib"] = torch.cuda.max_memory_reserved(module.device) / MIB
    else:
        mine["peak_rss_mib"] = max_rss_bytes() / MIB
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return [mine]
    ranks = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(ranks, mine)
    return ranks


class Synthetic:
    """Random [0, 1] images cycled from a small pool, so host memory does not grow with steps."""

    def __init__(self, length: int, img_size: int, num_classes: int, pool: int = 64) -> None:
        import torch

        g = torch.Generator().manual_seed(0)
        self.images = torch.rand(pool, 3, img_size, img_size, generator=g)
        self.labels = torch.randint(0, num_classes, (pool,), generator=g)
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        return self.images[i % len(self.images)], self.labels[i % len(self.labels)]


def worker(args) -> None:
    """One strategy; Lightning re-runs this same command line for the other ranks."""
    import lightning as L
    import torch
    from torch.utils.data import DataLoader

    from rsbench.backbones import InputSpec, build_backbone
    from rsbench.backbones.memory import module_workload
    from rsbench.engine.trainer import EngineOptions, make_trainer
    from rsbench.protocols.finetune import DEFAULTS, Finetuner

    if args.accelerator == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.devices))
    L.seed_everything(0, verbose=False)
    per_rank = args.batch_size // args.devices
    hp = {**DEFAULTS, "epochs": 1, "warmup_epochs": 0}
    backbone = build_backbone(args.arch, InputSpec(img_size=args.img_size), drop_path_rate=hp["drop_path"])
    if args.activation_checkpointing and args.only == "ddp":
        backbone.model.set_grad_checkpointing(True)  # FSDP gets it from its plan instead
    opts = EngineOptions(accelerator=args.accelerator, devices=args.devices, strategy=args.only,
                         precision=args.precision, progress=False, root_dir=args.root_dir,
                         sharding=args.sharding, activation_checkpointing=args.activation_checkpointing)
    workload = module_workload(backbone, per_rank, args.img_size, args.precision,
                               activation_checkpointing=args.activation_checkpointing)
    total = args.warmup + args.steps
    timer = make_timer(args)
    trainer = make_trainer(opts, workload=workload, max_steps=total, callbacks=[timer])
    lr = hp["blr"] * args.batch_size / 256
    module = Finetuner(backbone, 10, hp, total, lr)
    data = Synthetic(total * args.batch_size, args.img_size, 10)
    trainer.fit(module, DataLoader(data, batch_size=per_rank, drop_last=True))
    if trainer.global_rank == 0:
        print(MARK + json.dumps(summarise(args, trainer, timer.result)), flush=True)


def summarise(args, trainer, ranks: list[dict]) -> dict:
    """One strategy's row: throughput from the slowest rank, memory from the largest peak."""
    plan = getattr(trainer.strategy, "rsbench_plan", None)
    slowest = max(r["timed_s"] for r in ranks)
    row = {
        "strategy": args.only,
        "lightning_strategy": type(trainer.strategy).__name__,
        "sharding": f"{plan.sharding} (group {plan.shard_group})" if plan else "-",
        "activation_checkpointing": bool(plan.activation_checkpointing if plan
                                          else args.activation_checkpointing),
        "img_per_s_per_device": round(args.batch_size * args.steps / slowest / args.devices, 2),
        "step_s": round(slowest / args.steps, 4),
        "ranks": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in ranks],
    }
    for key in ("max_allocated_mib", "max_reserved_mib", "peak_rss_mib"):
        if key in ranks[0]:
            row[key] = round(max(r[key] for r in ranks), 1)
    return row


def run_strategy(strategy: str, argv: list[str], timeout: int) -> dict:
    """Run one strategy in a fresh interpreter and return its result line."""
    cmd = [sys.executable, os.path.abspath(__file__), *argv, "--only", strategy]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
        raise SystemExit(f"{strategy} failed (exit {proc.returncode})")
    return json.loads(lines[-1][len(MARK):])


def print_table(args, rows: list[dict]) -> None:
    gpu = args.accelerator != "cpu"
    mem = "max alloc MiB  max reserved MiB" if gpu else "peak RSS MiB (CPU, not GPU memory)"
    print(f"{args.arch}, {args.img_size} px, global batch {args.batch_size} on {args.devices} "
          f"{'GPU' if gpu else 'CPU process'}(s), {args.precision}, {args.steps} timed steps "
          f"after {args.warmup} warm-up")
    print(f"{'strategy':<9} {'sharding':<24} {'act-ckpt':<8} {'img/s/dev':>10} {'step s':>8}  {mem}")
    for r in rows:
        m = (f"{r['max_allocated_mib']:>13.0f}  {r['max_reserved_mib']:>16.0f}" if gpu
             else f"{r['peak_rss_mib']:>12.0f}")
        print(f"{r['strategy']:<9} {r['sharding']:<24} {'yes' if r['activation_checkpointing'] else 'no':<8} "
              f"{r['img_per_s_per_device']:>10.2f} {r['step_s']:>8.3f}  {m}")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="vit_large_patch16_224", help="timm name, e.g. vit_huge_patch14_224")
    p.add_argument("--accelerator", default="gpu", choices=["gpu", "cpu"])
    p.add_argument("--devices", type=int, default=None, help="default: every visible GPU (CPU: 1)")
    p.add_argument("--batch-size", type=int, default=None, help="global; default 32 per device")
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--precision", default="bf16-mixed")
    p.add_argument("--sharding", default="auto", help="FSDP sharding; auto: rsbench's plan")
    p.add_argument("--activation-checkpointing", action="store_true", help="for both strategies")
    p.add_argument("--strategies", default="ddp,fsdp")
    p.add_argument("--out", help="write the results here as JSON")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per strategy")
    p.add_argument("--root-dir", default="/tmp/rsbench_fsdp_throughput")
    p.add_argument("--only", choices=["ddp", "fsdp"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if ":" not in args.arch:
        from rsbench.backbones.factory import known_archs

        args.arch = args.arch if args.arch in known_archs() else f"timm:{args.arch}"
    if args.devices is None:
        import torch

        args.devices = max(1, torch.cuda.device_count()) if args.accelerator == "gpu" else 1
    args.batch_size = args.batch_size or 32 * args.devices
    if args.warmup < 1 or args.steps < 1:
        p.error("--warmup and --steps must be at least 1 (timing starts after a warm-up step)")
    if args.batch_size % (2 * args.devices):
        p.error("--batch-size must give an even batch per device (mixup pairs images)")
    return args


def main() -> None:
    args = parse_args()
    if args.only:
        worker(args)
        return
    argv = [*sys.argv[1:], "--arch", args.arch, "--devices", str(args.devices),
            "--batch-size", str(args.batch_size)]  # every rank must resolve the same defaults
    start = time.perf_counter()
    rows = [run_strategy(s, argv, args.timeout) for s in args.strategies.split(",")]
    print_table(args, rows)
    import torch

    result = {
        "arch": args.arch, "img_size": args.img_size, "global_batch": args.batch_size,
        "devices": args.devices, "accelerator": args.accelerator, "precision": args.precision,
        "warmup": args.warmup, "steps": args.steps,
        "memory": "cuda max_memory_allocated/reserved" if args.accelerator == "gpu"
        else "peak RSS per process (VmHWM, else getrusage ru_maxrss): CPU smoke check only",
        "device_name": torch.cuda.get_device_name(0) if args.accelerator == "gpu" else "cpu",
        "torch": torch.__version__, "wall_s": round(time.perf_counter() - start, 1), "rows": rows,
    }
    print(json.dumps(result), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
