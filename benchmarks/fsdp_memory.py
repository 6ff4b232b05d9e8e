"""Peak memory per process of FSDP2 on CPU (gloo) with 1 and 2 processes, against the plain
unsharded model in one process (what a user runs without ``--strategy fsdp``).

Every configuration trains the same randomly initialised ViT (plus a linear head) for a few
AdamW steps on random images, through rsbench's own path: ``make_trainer`` with
``EngineOptions(strategy="fsdp")`` (Lightning's ``ModelParallelStrategy``) and a
LightningModule whose ``configure_model`` calls ``rsbench.engine.sharding.shard_module``
(``fully_shard`` per block, then the root). The plain run uses the same module and trainer
with ``strategy="auto"``, where ``shard_module`` does nothing. Small images and batch 2 keep
activations negligible, so parameters + gradients + AdamW state dominate.

Each configuration runs in a fresh process (Lightning starts the other ranks), so the peak
resident set size (``VmHWM``, see ``max_rss_bytes``) of each rank is its own; the baseline taken after imports is
subtracted. Also reported per rank: the tracked tensor bytes (local shards of parameters,
gradients and optimizer state, measured after the last step), which do not depend on the
allocator or on other load on the machine.

    python benchmarks/fsdp_memory.py --arch vit_large_patch16 --image 64 --batch 2 --steps 3

glibc's dynamic mmap threshold keeps freed 4-32 MiB blocks (the full model built before
sharding, FSDP2's per-block all-gather buffers) in the heap, which inflates RSS above the
tracked bytes; ``--strategy fsdp`` on the CPU now fixes the threshold at 1 MiB in every rank
(``fixed_mmap_threshold``; ``--mmap-threshold 0`` measures glibc's own behaviour instead).

``--from-file`` trains the encoder of a random-weight safetensors checkpoint written once
under ``--root-dir``, as ``rsbench run`` does: the plain run reads it whole (``load_backbone``),
the FSDP runs build it on the meta device and fill each rank's shards from the file
(``lazy_backbone``, filled in ``shard_module``), so no rank builds the full model. ``--adamw``
picks AdamW's implementation: ``default`` is what rsbench's optimizers get (torch chooses: the
per-tensor loop for CPU tensors and DTensors, ``foreach`` on GPUs), ``foreach`` and
``for-loop`` force one; the resolved choice is printed. ``--mmap-threshold`` replaces the fixed
glibc mmap threshold rsbench sets for CPU FSDP runs (``rsbench.engine.sharding.
fixed_mmap_threshold``) by another, or by glibc's own dynamic one (0), to measure what it
changes.

Prints one JSON line per configuration, then one summary line with the ratios against the
plain run. BENCHMARKS.md records results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

MIB = 1024 * 1024
MARK = "RSBENCH_FSDP_MEMORY "


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far.

    ``VmHWM`` rather than ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries ``ru_maxrss``
    across fork + exec, so ranks 1..N-1, which Lightning starts from rank 0 after rank 0 has
    built the full model, would inherit rank 0's peak. ``ru_maxrss`` is the fallback off Linux.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def local_bytes(t) -> int:
    """Bytes this process holds for ``t`` (its local shard when ``t`` is a DTensor)."""
    from torch.distributed.tensor import DTensor

    if isinstance(t, DTensor):
        t = t.to_local()
    return t.numel() * t.element_size()


ADAMW = {"default": {}, "foreach": {"foreach": True}, "for-loop": {"foreach": False}}


def resolved_foreach(opt) -> bool:
    """Whether ``opt`` (an AdamW) runs its ``foreach`` path, as torch decides on ``step``."""
    from torch.optim.optimizer import _default_to_fused_or_foreach

    if opt.defaults["foreach"] is not None:
        return bool(opt.defaults["foreach"])
    params = [p for g in opt.param_groups for p in g["params"]]
    return _default_to_fused_or_foreach(params, differentiable=False, use_fused=False)[1]


def checkpoint_file(args):
    """A random-weight fp32 safetensors file of ``args.arch`` at ``args.image``, written once."""
    from pathlib import Path

    import torch

    from rsbench.backbones import InputSpec
    from rsbench.backbones.factory import build_timm_model

    path = Path(args.root_dir) / f"{args.arch}_{args.image}.safetensors"
    if not path.exists():
        from safetensors.torch import save_file

        meta = build_timm_model(args.arch, InputSpec(img_size=args.image), "cls", device="meta")
        g = torch.Generator().manual_seed(0)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({k: torch.randn(v.shape, generator=g) * 0.02
                   for k, v in meta.state_dict().items()}, str(path))
    return path


def encoder(args, fsdp: bool):
    """The run's encoder: random (built whole), or from ``checkpoint_file`` (lazy under FSDP)."""
    from rsbench.backbones import InputSpec, build_backbone

    spec = InputSpec(img_size=args.image)
    if not args.from_file:
        return build_backbone(args.arch, spec)
    from rsbench.checkpoints import load_backbone
    from rsbench.checkpoints.sharded import lazy_backbone

    return (lazy_backbone if fsdp else load_backbone)(checkpoint_file(args), args.arch, spec)


def worker(args) -> None:
    """One configuration; Lightning re-runs this same command line for ranks 1..N-1."""
    import lightning as L
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from rsbench.backbones.memory import module_workload
    from rsbench.engine.sharding import shard_module
    from rsbench.engine.trainer import EngineOptions, make_trainer

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.world))
    if args.mmap_threshold is not None:  # before any trainer: another threshold, or glibc's
        import rsbench.engine.sharding as sharding

        fixed = sharding.fixed_mmap_threshold
        sharding.fixed_mmap_threshold = lambda threshold=0: bool(  # type: ignore[misc]
            args.mmap_threshold and fixed(args.mmap_threshold))
    base_max, base_now = max_rss_bytes(), rss_bytes()  # baseline: after imports
    fsdp = args.worker == "fsdp"

    class Model(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = encoder(args, fsdp)
            self.head = nn.Linear(self.backbone.embed_dim, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.backbone.pooled(x))

        def configure_model(self) -> None:
            shard_module(self)  # the real --strategy fsdp CPU path; a no-op for the plain run

        def training_step(self, batch, batch_idx):
            x, y = batch
            return nn.functional.cross_entropy(self(x), y)  # through forward: FSDP2's root hooks

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=1e-4, weight_decay=0.05,
                                     **ADAMW[args.adamw])

    class Measure(L.Callback):
        def __init__(self) -> None:
            self.step_times: list[float] = []
            self.t = 0.0

        def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
            self.t = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            self.step_times.append(time.perf_counter() - self.t)
            if trainer.global_step < args.steps:
                return
            # Gradients are still there: Lightning zeroes them at the start of the next step.
            opt = trainer.optimizers[0]
            params = list(module.parameters())
            tracked = {
                "params": sum(local_bytes(p) for p in params),
                "grads": sum(local_bytes(p.grad) for p in params if p.grad is not None),
                "optim": sum(local_bytes(v) for s in opt.state.values() for v in s.values()
                             if isinstance(v, torch.Tensor)),
            }
            mine = {
                "rank": trainer.global_rank,
                "adamw_foreach": resolved_foreach(opt),
                "peak_rss_mib": round((max_rss_bytes() - base_max) / MIB, 1),
                "end_rss_mib": round((rss_bytes() - base_now) / MIB, 1),
                "tracked_mib": round(sum(tracked.values()) / MIB, 1),
                **{f"{k}_mib": round(v / MIB, 1) for k, v in tracked.items()},
                "step_s": round(min(self.step_times[1:] or self.step_times), 2),
            }
            ranks = [mine]
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                ranks = [None] * torch.distributed.get_world_size()
                torch.distributed.all_gather_object(ranks, mine)
            if trainer.global_rank == 0:
                module.rsbench_result = ranks

    L.seed_everything(0, verbose=False)
    model = Model()
    n_params = sum(p.numel() for p in model.parameters())
    built_mib = round((max_rss_bytes() - base_max) / MIB, 1)  # the full model, every rank
    n = args.batch * args.steps * args.world
    data = TensorDataset(torch.randn(n, 3, args.image, args.image), torch.randint(0, 10, (n,)))
    loader = DataLoader(data, batch_size=args.batch)
    opts = EngineOptions(accelerator="cpu", devices=args.world, strategy="fsdp" if fsdp else "auto",
                         precision="32-true", progress=False, root_dir=args.root_dir)
    workload = module_workload(model.backbone, args.batch, args.image, "32-true") if fsdp else None
    measure = Measure()
    trainer = make_trainer(opts, workload=workload, max_steps=args.steps, callbacks=[measure],
                           use_distributed_sampler=True)
    trainer.fit(model, loader)
    if trainer.global_rank != 0:
        return
    ranks = model.rsbench_result
    print(MARK + json.dumps({
        "config": f"fsdp2 x{args.world}" if fsdp else "plain (no FSDP)",
        "arch": args.arch,
        "params": n_params,
        "world_size": args.world,
        "image": args.image,
        "batch_per_rank": args.batch,
        "steps": args.steps,
        "adamw": args.adamw,
        "from_file": bool(args.from_file),
        "mmap_threshold": "rsbench" if args.mmap_threshold is None else args.mmap_threshold,
        "full_model_build_mib": built_mib,
        "per_rank_peak_rss_mib": max(r["peak_rss_mib"] for r in ranks),
        "per_rank_tracked_mib": max(r["tracked_mib"] for r in ranks),
        "ranks": ranks,
    }), flush=True)


def run_config(kind: str, world: int, args) -> dict:
    """Run one configuration in a fresh interpreter and return its result line."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--world", str(world),
           "--arch", args.arch, "--image", str(args.image), "--batch", str(args.batch),
           "--steps", str(args.steps), "--root-dir", args.root_dir, "--adamw", args.adamw]
    cmd += ["--from-file"] if args.from_file else []
    cmd += [] if args.mmap_threshold is None else ["--mmap-threshold", str(args.mmap_threshold)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
        raise SystemExit(f"{kind} x{world} failed (exit {proc.returncode})")
    result = json.loads(lines[-1][len(MARK):])
    result["wall_s"] = round(time.perf_counter() - start, 1)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="vit_large_patch16", help="vit_base_patch16 if too slow")
    p.add_argument("--image", type=int, default=64, help="small, so activations are negligible")
    p.add_argument("--batch", type=int, default=2, help="images per rank per step")
    p.add_argument("--steps", type=int, default=3, help="AdamW steps")
    p.add_argument("--worlds", default="1,2", help="FSDP2 process counts to measure")
    p.add_argument("--timeout", type=int, default=600, help="seconds per configuration")
    p.add_argument("--root-dir", default="/tmp/rsbench_fsdp_memory")
    p.add_argument("--adamw", choices=list(ADAMW), default="default",
                   help="AdamW implementation (default: torch's choice, as rsbench's optimizers)")
    p.add_argument("--from-file", action="store_true",
                   help="train a checkpoint's encoder, filled shard by shard under FSDP")
    p.add_argument("--mmap-threshold", type=int, default=None, metavar="BYTES",
                   help="glibc mmap threshold of the FSDP ranks (default: rsbench's; 0: glibc's "
                        "own dynamic one)")
    p.add_argument("--plain", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the plain one-process configuration (the ratios' base)")
    p.add_argument("--worker", choices=["plain", "fsdp"], help=argparse.SUPPRESS)
    p.add_argument("--world", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    if args.from_file:
        checkpoint_file(args)  # written once, before any rank starts
    results = [run_config("plain", 1, args)] if args.plain else []
    results += [run_config("fsdp", int(w), args) for w in args.worlds.split(",")]
    plain = results[0]
    for r in results:
        r["expected_share"] = round(1 / r["world_size"], 3) if r is not plain else 1.0
        r["peak_vs_plain"] = round(r["per_rank_peak_rss_mib"] / plain["per_rank_peak_rss_mib"], 3)
        r["tracked_vs_plain"] = round(r["per_rank_tracked_mib"] / plain["per_rank_tracked_mib"], 3)
        print(json.dumps(r), flush=True)
    import torch

    print(json.dumps({
        "summary": "per-rank peak RSS and tracked bytes (params+grads+AdamW), relative to plain",
        "arch": plain["arch"], "params": plain["params"],
        **{f"{r['config']}": {"peak_mib": r["per_rank_peak_rss_mib"], "tracked_mib": r["per_rank_tracked_mib"],
                              "peak_vs_plain": r["peak_vs_plain"], "tracked_vs_plain": r["tracked_vs_plain"],
                              "expected_share": r["expected_share"]} for r in results},
        "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }), flush=True)


if __name__ == "__main__":
    main()
