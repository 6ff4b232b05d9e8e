"""Every value of a probe's ``blr_grid`` trained at once, in one pass over the cached features.

A probe sweep trains the same head (same initialisation, same mini-batches in the same order,
only the learning rate differs) once per grid value. Trained one at a time, each with its own
Lightning ``Trainer``, the per-step framework overhead of a 45 x 1024 linear layer dominates.
Here the heads share one parameter-free ``BatchNorm1d`` (its statistics depend on the batch
only, so they are the same for every head) and each keeps its own ``Linear`` and optimiser
group; the summed loss gives every head exactly the gradient it would get alone, so each
result equals ``linear_probe.fitted_head`` at that learning rate (tests/protocols). One
Lightning step is one epoch over in-memory mini-batches (manual optimisation), so Lightning
still runs the loop while the inner steps cost only their arithmetic.

A head whose loss turns non-finite is reported as diverged; the others go on, as a diverging
grid value loses the sweep but does not fail it. The losses are checked once per epoch, not
per step (a per-step check waits on every head's loss): a head's gradient is its own loss's
alone, so a diverged head that trains on until the epoch ends changes no other head's bits.

Heads train in one CPU thread (:func:`one_thread`). Their matrix products are a few hundred
rows by a few hundred columns, too small to gain from a parallel region's start and barrier
(on a loaded machine the barrier waits for a descheduled thread at every op), and a reduction
split over threads rounds otherwise on another machine: one thread makes a head the same bits
on any machine, whatever its core count.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from rsbench.engine.trainer import make_trainer
from rsbench.heads import probe_head
from rsbench.protocols.base import warmup_cosine


class BatchedProbe(L.LightningModule):
    """``len(lrs)`` probe heads over one shared parameter-free BatchNorm."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, num_classes: int, lrs: list[float],
                 hp: dict, seed: int) -> None:
        super().__init__()
        self.automatic_optimization = False
        first = probe_head(x.shape[1], num_classes)  # after the caller's seed_everything
        self.norm = first[0]
        self.linears = nn.ModuleList(copy.deepcopy(first[1]) for _ in lrs)
        self.x, self.y, self.lrs, self.hp = x, y, list(lrs), hp
        self.batch = min(hp["batch_size"], len(y))
        self.drop_last = len(y) > self.batch
        self.per_epoch = len(y) // self.batch if self.drop_last else math.ceil(len(y) / self.batch)
        self.total = self.per_epoch * hp["epochs"]
        self.generator = torch.Generator().manual_seed(seed)  # the order DataLoader(shuffle) draws
        self.alive = [True] * len(lrs)
        self.finite = torch.ones(len(lrs), dtype=torch.bool)  # this epoch's losses, per head
        self.step_no = 0

    def heads(self) -> list[nn.Sequential | None]:
        """One ``probe_head``-shaped module per learning rate; None where it diverged."""
        return [nn.Sequential(self.norm, linear).eval() if ok else None
                for linear, ok in zip(self.linears, self.alive, strict=True)]

    def configure_optimizers(self):
        hp = self.hp
        if hp["optimizer"] == "sgd":
            groups = [{"params": list(lin.parameters()), "lr": lr, "base_lr": lr}
                      for lin, lr in zip(self.linears, self.lrs, strict=True)]
            return torch.optim.SGD(groups, lr=self.lrs[0], momentum=hp["momentum"],
                                   weight_decay=hp["weight_decay"])
        if hp["optimizer"] != "lars":
            raise ValueError(f"protocol.optimizer {hp['optimizer']!r}: allowed 'sgd' or 'lars'")
        from timm.optim import Lars

        groups = []
        for lin, lr in zip(self.linears, self.lrs, strict=True):
            groups += [{"params": [lin.weight], "lr": lr, "base_lr": lr, "always_adapt": True,
                        "weight_decay": hp["weight_decay"]},
                       {"params": [lin.bias], "lr": lr, "base_lr": lr, "always_adapt": False,
                        "weight_decay": 0.0}]
        return Lars(groups, lr=self.lrs[0], momentum=hp["momentum"])

    def train_dataloader(self):
        return DataLoader([0], batch_size=1)  # one Lightning step per epoch

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        warmup = self.total * self.hp["warmup_epochs"] // max(1, self.hp["epochs"])
        order = self.epoch_order()
        for i in range(self.per_epoch):
            idx = order[i * self.batch:(i + 1) * self.batch]
            self.one_step(opt, self.x[idx], self.y[idx], warmup)
        self.alive = [ok and bool(f) for ok, f in zip(self.alive, self.finite, strict=True)]

    def epoch_order(self) -> torch.Tensor:
        """This epoch's sample order, drawn from the generator as a shuffling ``DataLoader``
        under Lightning draws it: the iterator's base seed, then the sampler's permutation
        (Lightning stops after the last full batch, so the sampler's tail draw never happens).
        A batched sweep thus sees the batches a one-head-at-a-time sweep sees; the equality
        test in tests/protocols catches a library that changes this."""
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        return torch.randperm(len(self.y), generator=self.generator)

    def one_step(self, opt, x: torch.Tensor, y: torch.Tensor, warmup: int) -> None:
        factor = warmup_cosine(self.step_no, warmup, self.total)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * factor  # warm-up + cosine, as LambdaLR does per step
        z = self.norm(x)
        # Heads found diverged at an earlier epoch's end get no gradient again.
        live = [h for h, ok in enumerate(self.alive) if ok]
        opt.zero_grad(set_to_none=True)
        if live:
            losses = torch.stack([nn.functional.cross_entropy(self.linears[h](z), y) for h in live])
            self.finite[live] &= torch.isfinite(losses.detach())  # read at the epoch's end
            losses.sum().backward()
            opt.step()
        self.step_no += 1


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one intra-op CPU thread, then restore the count (see the module doc)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fitted_heads(x: torch.Tensor, y: torch.Tensor, num_classes: int, blrs: list[float], hp: dict,
                 ctx) -> list[nn.Sequential | None]:
    """Probe heads trained on ``(x, y)``, one per base learning rate (None: it diverged).

    Each equals ``linear_probe.fitted_head(x, y, num_classes, blr, hp, ctx)``.
    """
    L.seed_everything(ctx.seed, workers=True, verbose=False)
    batch = min(hp["batch_size"], len(y))
    module = BatchedProbe(x, y, num_classes, [b * batch / 256 for b in blrs], hp, ctx.seed)
    # Tiny heads on in-memory data: one CPU process in fp32 is fastest and bit-reproducible.
    trainer = make_trainer(replace(ctx.opts, progress=False), max_epochs=hp["epochs"],
                           accelerator="cpu", devices=1, strategy="auto", precision="32-true")
    with one_thread():
        trainer.fit(module)
    return module.heads()
