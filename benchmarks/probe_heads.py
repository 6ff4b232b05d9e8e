"""Wall time of a linear-probe sweep on cached features: the batched grid against one head at a time.

Random features stand in for a backbone's (their values change the arithmetic only through
denormal intermediates, which the heads flush to zero while they train):
``--n`` x ``--dim`` float32, ``--classes`` labels, the probe's recipe (batch 256, warm-up +
cosine, SGD momentum 0.9) over ``--epochs``, for each of ``--seeds`` seeds. ``batched`` trains
every ``(seed, --grid value)`` head at once (``rsbench.protocols.probe_heads.fitted_heads``, as
``rsbench run --seeds`` does for a linear-probe task); ``per_seed`` trains each seed's grid in a
pass of its own, one seed after another; ``one_at_a_time`` trains the heads one after the other
with a Lightning ``Trainer`` each (``linear_probe.fitted_head``, the earliest way). All give the
same heads bit for bit (tests/protocols/test_probe_heads.py).

    python benchmarks/probe_heads.py --n 31500 --dim 1024 --classes 45 --epochs 90
    python benchmarks/probe_heads.py --epochs 10 --seeds 3 --refit --modes batched per_seed

``--refit`` adds what the protocol trains after the sweep: one head per seed (at the grid's
middle value here), all seeds at once in ``batched``, one seed after another in ``per_seed``.

Prints one JSON line per mode. BENCHMARKS.md records results.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from types import SimpleNamespace

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=31_500)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--classes", type=int, default=45)
    p.add_argument("--epochs", type=int, default=90)
    p.add_argument("--grid", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0])
    p.add_argument("--seeds", type=int, default=1, help="seeds 0, 1, ...: each trains the grid")
    p.add_argument("--refit", action="store_true", help="and then one head per seed, as the probe")
    p.add_argument("--modes", nargs="+", default=["batched", "one_at_a_time"],
                   choices=["batched", "per_seed", "one_at_a_time"])
    p.add_argument("--one-at-a-time-heads", type=int, default=None,
                   help="time only this many heads one at a time and scale to the grid")
    args = p.parse_args()

    from rsbench.engine import EngineOptions
    from rsbench.protocols.linear_probe import DEFAULTS, fitted_head
    from rsbench.protocols.probe_heads import fitted_heads

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, args.dim, generator=g)
    y = torch.randint(0, args.classes, (args.n,), generator=g)
    hp = {**DEFAULTS, "epochs": args.epochs}
    ctx = SimpleNamespace(seed=0, opts=EngineOptions(accelerator="cpu", progress=False))
    runs = [(seed, blr) for seed in range(args.seeds) for blr in args.grid]
    refit = args.grid[len(args.grid) // 2]
    common = {"n": args.n, "dim": args.dim, "classes": args.classes, "epochs": args.epochs,
              "grid": len(args.grid), "seeds": args.seeds, "refit": args.refit, "threads": torch.get_num_threads(),
              "machine": platform.processor() or platform.machine()}
    for mode in args.modes:
        start = time.perf_counter()
        if mode == "batched":
            fitted_heads(x, y, args.classes, runs, hp, ctx)
            if args.refit:
                fitted_heads(x, y, args.classes, [(s, refit) for s in range(args.seeds)], hp, ctx)
            timed = len(runs)
        elif mode == "per_seed":
            for seed in range(args.seeds):
                fitted_heads(x, y, args.classes, [(seed, blr) for blr in args.grid], hp, ctx)
                if args.refit:
                    fitted_heads(x, y, args.classes, [(seed, refit)], hp, ctx)
            timed = len(runs)
        else:
            timed = min(args.one_at_a_time_heads or len(runs), len(runs))
            for seed, blr in runs[:timed]:
                fitted_head(x, y, args.classes, blr, hp, SimpleNamespace(seed=seed, opts=ctx.opts))
        seconds = time.perf_counter() - start
        print(json.dumps({**common, "mode": mode, "heads_timed": timed, "seconds": round(seconds, 2),
                          "seconds_for_all": round(seconds * len(runs) / timed, 2)}), flush=True)


if __name__ == "__main__":
    main()
