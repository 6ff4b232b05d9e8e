"""Every ``(seed, blr)`` head of a probe trained at once, in one pass over the cached features.

A probe sweep trains the same head (same initialisation, same mini-batches in the same order,
only the learning rate differs) once per grid value, and again for every seed of the cell
(the seed draws the initialisation and the mini-batch order; the features do not depend on
it). Trained one at a time, each with its own Lightning ``Trainer``, the per-step framework
overhead of a 45 x 1024 linear layer dominates. Here the heads of one seed share one
parameter-free ``BatchNorm1d`` (its statistics depend on the batch only, so they are the same
for every head of that seed: one thread normalises each step's batch once, a chunk of steps
ahead of the heads that train on it) and each keeps its own ``Linear`` and optimiser, stepping
exactly as it would alone, so each result equals ``linear_probe.fitted_head`` at that seed and
learning rate, bit for bit (tests/protocols). One Lightning step is one epoch over in-memory
mini-batches (manual optimisation), so Lightning still runs the loop while the inner steps cost
only their arithmetic.

A head whose loss turns non-finite is reported as diverged; the others go on, as a diverging
grid value loses the sweep but does not fail it. The losses are checked once per epoch, not
per step (a per-step check waits on every head's loss): a head's gradient is its own loss's
alone, so a diverged head that trains on until the epoch ends changes no other head's bits.

Parallel over heads, serial within one. Each head's step (forward, backward, optimiser) runs
in a worker thread of a pool as wide as the job's threads, with one intra-op thread
(:func:`head_arithmetic`, set in every worker: OpenMP's thread count is a per-thread setting,
and a worker left at the machine's count opens a parallel region of its own inside each
product, so two lanes ran slower than one): a head's matrix products are a few hundred rows by
a few hundred columns, too small to gain from an intra-op parallel region, and a reduction
split over threads rounds otherwise on another machine. So the heads use every core and each
head is the same bits on any machine, whatever its core count. (One wide GEMM of the
concatenated weights, or a ``baddbmm`` over the heads, rounds otherwise or depends on the
thread count.)

A step is the dozen aten ops autograd and torch's SGD would run for it, called directly
(:func:`cross_entropy_grads`, :func:`sgd_step`; LARS keeps its own ``step``): the graph, the
engine and the optimiser's per-call machinery cost as much as the two matrix products, and
held the GIL the lanes share.

Denormals are flushed to zero while heads train, in every thread that trains one. Once a
head's logits grow, softmax probabilities underflow into the denormal range, where x86 FPUs
take a slow path: on 31,500 x 1,024 features, 10 epochs of the 6-value grid took 10.3 s with
denormals and 7.0 s without, one thread, the final weights equal to the printed digit. A
value below 1.2e-38 becoming 0 changes no accuracy; the reference one-head run
(``linear_probe.fitted_head``) flushes the same way, so the two stay equal bit for bit.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import cast

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from rsbench.engine.trainer import make_trainer
from rsbench.heads import probe_head
from rsbench.protocols.base import warmup_cosine

CHUNK_BYTES = 32 * 2**20  # normalised features made at a time (two chunks are held at once)
# A step's index in its epoch, and each seed's (normalised features, labels) by seed position.
Step = tuple[int, dict[int, tuple[torch.Tensor, torch.Tensor]]]
Run = tuple[int, float]  # a head's (seed, learning rate)


class BatchedProbe(L.LightningModule):
    """One probe head per ``(seed, lr)`` of ``runs``, in ``lanes`` parallel lanes.

    Each seed has its head's initialisation, its sample order and its parameter-free BatchNorm;
    its heads differ only in learning rate. Lane ``w`` trains heads ``w, w + lanes, ...``. The
    calling thread normalises every seed's batches (their statistics depend on the batch only,
    the same for every head of the seed) a chunk of steps ahead of the lanes, which train on
    them.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, num_classes: int, runs: list[Run],
                 hp: dict, lanes: int = 1) -> None:
        super().__init__()
        self.automatic_optimization = False
        seeds = list(dict.fromkeys(seed for seed, _ in runs))
        firsts = [seeded_head(seed, x.shape[1], num_classes) for seed in seeds]
        self.of_seed = [seeds.index(seed) for seed, _ in runs]  # a head's seed, by position
        self.lanes = [list(range(w, len(runs), lanes)) for w in range(min(lanes, len(runs)))]
        self.norms = nn.ModuleList(first[0] for first in firsts)
        self.linears = nn.ModuleList(copy.deepcopy(firsts[c][1]) for c in self.of_seed)
        self.x, self.y, self.lrs, self.hp = x, y, [lr for _, lr in runs], hp
        self.batch = min(hp["batch_size"], len(y))
        self.drop_last = len(y) > self.batch
        self.per_epoch = len(y) // self.batch if self.drop_last else math.ceil(len(y) / self.batch)
        self.total = self.per_epoch * hp["epochs"]
        self.warmup = self.total * hp["warmup_epochs"] // max(1, hp["epochs"])
        # The order a shuffling DataLoader draws from its generator, one per seed.
        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        # Steps normalised at a time, per seed: a chunk trains while the next is normalised.
        step_bytes = len(seeds) * self.batch * x.shape[1] * x.element_size()
        self.chunk = max(1, CHUNK_BYTES // max(1, step_bytes))
        self.alive = [True] * len(runs)
        self.step_no = 0
        self.pool: ThreadPoolExecutor | None = None  # fitted_heads's, one worker a lane

    def heads(self) -> list[nn.Sequential | None]:
        """One ``probe_head``-shaped module per run; None where it diverged."""
        return [nn.Sequential(copy.deepcopy(self.norms[c]), linear).eval() if ok else None
                for linear, c, ok in zip(self.linears, self.of_seed, self.alive, strict=True)]

    def configure_optimizers(self):
        """One optimiser per head, as each head would have alone (and each steps in its worker)."""
        return [self.optimizer(lin, lr) for lin, lr in zip(self.linears, self.lrs, strict=True)]

    def optimizer(self, linear: nn.Linear, lr: float) -> torch.optim.Optimizer:
        hp = self.hp
        if hp["optimizer"] == "sgd":
            return torch.optim.SGD([{"params": list(linear.parameters()), "base_lr": lr}], lr=lr,
                                   momentum=hp["momentum"], weight_decay=hp["weight_decay"])
        if hp["optimizer"] != "lars":
            raise ValueError(f"protocol.optimizer {hp['optimizer']!r}: allowed 'sgd' or 'lars'")
        from timm.optim import Lars

        return Lars([{"params": [linear.weight], "base_lr": lr, "always_adapt": True,
                      "weight_decay": hp["weight_decay"]},
                     {"params": [linear.bias], "base_lr": lr, "always_adapt": False,
                      "weight_decay": 0.0}], lr=lr, momentum=hp["momentum"])

    def train_dataloader(self):
        return DataLoader([0], batch_size=1)  # one Lightning step per epoch

    def training_step(self, batch, batch_idx):
        opts = self.optimizers(use_pl_optimizer=False)
        opts = opts if isinstance(opts, list) else [opts]
        live = [[h for h in lane if self.alive[h]] for lane in self.lanes]
        losses: dict[int, list[torch.Tensor]] = {h: [] for lane in live for h in lane}
        orders = [self.epoch_order(g) for g in self.generators]
        wanted = {self.of_seed[h] for h in losses}  # seeds with a head still training
        chunks = self.normalised(orders, wanted) if losses else iter(())
        ready = next(chunks, None)
        while ready is not None:
            steps = [self.later(self.lane_steps, heads, opts, ready, losses) for heads in live]
            ready = next(chunks, None)  # the next chunk is normalised while the lanes train
            for step in steps:
                step.result()
        self.alive = [ok and bool(torch.isfinite(torch.stack(losses[h])).all())
                      for h, ok in enumerate(self.alive)]
        self.step_no += self.per_epoch

    def later(self, fn: Callable, *args) -> Future:
        """``fn(*args)`` on a lane's worker, or here and now without a pool (one lane)."""
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        done: Future = Future()
        done.set_result(fn(*args))
        return done

    def normalised(self, orders: list[torch.Tensor], seeds: set[int]) -> Iterator[list[Step]]:
        """This epoch's steps for the seeds at positions ``seeds``, a chunk at a time, in order
        (each BatchNorm's running statistics update step by step, as in a head's own run)."""
        for first in range(0, self.per_epoch, self.chunk):
            chunk = []
            for i in range(first, min(first + self.chunk, self.per_epoch)):
                rows = {c: orders[c][i * self.batch:(i + 1) * self.batch] for c in seeds}
                chunk.append((i, {c: (self.norms[c](self.x.index_select(0, idx)),
                                      self.y.index_select(0, idx)) for c, idx in rows.items()}))
            yield chunk

    def epoch_order(self, generator: torch.Generator) -> torch.Tensor:
        """This epoch's sample order, drawn from ``generator`` as a shuffling ``DataLoader``
        under Lightning draws it: the iterator's base seed, then the sampler's permutation
        (Lightning stops after the last full batch, so the sampler's tail draw never happens).
        A batched sweep thus sees the batches a one-head-at-a-time sweep sees; the equality
        test in tests/protocols catches a library that changes this."""
        torch.empty((), dtype=torch.int64).random_(generator=generator)
        return torch.randperm(len(self.y), generator=generator)

    def lane_steps(self, heads: list[int], opts: list, chunk: list[Step], losses: dict) -> None:
        """A chunk's steps of one lane's live ``heads`` (heads found diverged at an earlier
        epoch's end get no gradient again), each step's loss appended to ``losses[h]``."""
        for i, batches in chunk:
            factor = warmup_cosine(self.step_no + i, self.warmup, self.total)
            for h in heads:
                for g in opts[h].param_groups:
                    g["lr"] = g["base_lr"] * factor  # warm-up + cosine, as LambdaLR does per step
                losses[h].append(self.head_step(h, opts[h], *batches[self.of_seed[h]]))

    def head_step(self, h: int, opt: torch.optim.Optimizer, z: torch.Tensor,
                  y: torch.Tensor) -> torch.Tensor:
        """One optimiser step of head ``h``: what its own run does at this step, op for op."""
        linear = cast(nn.Linear, self.linears[h])
        loss, grads = cross_entropy_grads(linear.weight, linear.bias, z, y)
        if isinstance(opt, torch.optim.SGD):
            sgd_step(opt, grads)
        else:
            linear.weight.grad, linear.bias.grad = grads
            opt.step()
        return loss


_aten = torch.ops.aten


@torch.no_grad()
def cross_entropy_grads(weight: torch.Tensor, bias: torch.Tensor, z: torch.Tensor,
                        y: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """The mean cross-entropy of ``z @ weight.T + bias`` against ``y``, and its gradients for
    ``(weight, bias)``.

    The ops are the ones autograd runs for ``cross_entropy(linear(z), y).backward()``
    (``addmm``; ``NllLossBackward``, ``LogSoftmaxBackward``; ``AddmmBackward``'s ``mm`` for the
    transposed weight and its sum over rows for the bias), in its order and on the same
    layouts, so the bits are autograd's (tests/protocols). Called directly they skip the
    graph, the engine and a dozen Python round trips per step: on a 256 x 1,024 x 45 head that
    overhead cost as much as the two matrix products, and it holds the GIL that the parallel
    lanes share.
    """
    logp = torch.log_softmax(torch.addmm(bias, z, weight.t()), 1)
    loss, total = _aten.nll_loss_forward(logp, y, None, 1, -100)  # 1: mean
    grad_logp = _aten.nll_loss_backward(torch.ones_like(loss), logp, y, None, 1, -100, total)
    grad_logits = _aten._log_softmax_backward_data(grad_logp, logp, 1, logp.dtype)
    return loss, (torch.mm(grad_logits.t(), z), grad_logits.sum(0))


@torch.no_grad()
def sgd_step(opt: torch.optim.SGD, grads: tuple[torch.Tensor, ...]) -> None:
    """``opt.step()`` with ``grads`` as the gradients of its parameters, op for op as torch's
    single-tensor SGD (the CPU default) computes it, its momentum buffers in ``opt.state``, but
    without ``step``'s per-call machinery (hooks, grouping, grad-mode switches)."""
    pending = iter(grads)
    for group in opt.param_groups:  # the probe's SGD: no nesterov, no maximize
        for p in group["params"]:
            grad = next(pending)
            if group["weight_decay"] != 0:
                grad = grad.add(p, alpha=group["weight_decay"])
            if group["momentum"] != 0:
                state = opt.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = grad.detach().clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(
                        grad, alpha=1 - group["dampening"])
                grad = state["momentum_buffer"]
            p.add_(grad, alpha=-group["lr"])


@contextmanager
def head_arithmetic() -> Iterator[None]:
    """Run the block with one intra-op CPU thread and denormals flushed to zero, then restore
    both (see the module doc). Call it in every thread that trains a head: the flush is a
    setting of the calling thread's floating-point unit."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(before)


def head_thread() -> None:
    """A worker thread's initialiser: what :func:`head_arithmetic` sets, for this thread."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)


def seeded_head(seed: int, dim: int, num_classes: int) -> nn.Sequential:
    """``probe_head(dim, num_classes)`` drawn after ``seed_everything(seed)``, as a head's own
    run draws it."""
    L.seed_everything(seed, workers=True, verbose=False)
    return probe_head(dim, num_classes)


def fitted_heads(x: torch.Tensor, y: torch.Tensor, num_classes: int, runs: list[Run], hp: dict,
                 ctx) -> list[nn.Sequential | None]:
    """Probe heads trained on ``(x, y)``, one per ``(seed, base learning rate)`` of ``runs``
    (None: it diverged).

    Each equals ``linear_probe.fitted_head(x, y, num_classes, blr, hp, ctx)`` with ``ctx.seed``
    that seed.
    """
    batch = min(hp["batch_size"], len(y))
    lanes = min(torch.get_num_threads(), len(runs))  # the job's threads, before head_arithmetic
    module = BatchedProbe(x, y, num_classes, [(seed, b * batch / 256) for seed, b in runs], hp,
                          lanes)
    # Tiny heads on in-memory data: one CPU process in fp32 is fastest and bit-reproducible.
    trainer = make_trainer(replace(ctx.opts, progress=False), max_epochs=hp["epochs"],
                           accelerator="cpu", devices=1, strategy="auto", precision="32-true")
    with head_arithmetic(), ThreadPoolExecutor(lanes, initializer=head_thread) as pool:
        if lanes > 1:
            module.pool = pool
        trainer.fit(module)
    return module.heads()
