"""Linear probe on frozen features: MAE's probe head (He et al., 2022) on cached features.

Head: ``BatchNorm1d(affine=False)`` + ``Linear`` (trunc-normal std 0.01), as in MAE
``main_linprobe.py``; lr = blr x batch / 256; 10 warm-up epochs then half-cycle cosine; 90 epochs;
no weight decay. Instead of running the frozen encoder every epoch, features are extracted once
and the head trains on the cache: the same optimisation problem without augmentation (MAE's
probe uses only crop+flip), far cheaper.

Optimiser: ``sgd`` (momentum 0.9, DINO ``eval_linear.py``) by default, or MAE's ``lars``
(trust coefficient 1e-3, biases not adapted). LARS scales every step to 1e-3 x lr of the weight
norm, which suits MAE's ImageNet run (lr 6.4 at batch 16384, ~7,000 steps) but leaves a head on
an RS benchmark of a few thousand images (a few hundred steps) close to its initialisation:
on separable features it stays near chance where SGD reaches 100% (tests/protocols).

The base learning rate is chosen on the validation split from ``blr_grid``; the head is then
refitted on train+val with that value and scored once on test (torchgeo-bench's procedure).
With ``search`` set, an optuna study (``rsbench/protocols/search.py``) over ``blr`` (required)
and optionally ``weight_decay`` replaces the grid: each trial trains the head on train and
reports val accuracy after every epoch (the head is cheap to score), so the median pruner can
stop a trial whose learning rate is plainly too small or too large; the refit is as above.

A task type whose plugin defines ``probe_loss(logits, target)`` (multi-label: binary
cross-entropy on ``{0, 1}`` label vectors) trains the head with that loss instead of
cross-entropy and is scored on the head's logits; its grid trains one head per value
(``probe_heads.fitted_heads`` computes cross-entropy only).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import replace

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rsbench.config import SpecError
from rsbench.engine.trainer import make_trainer
from rsbench.heads import probe_head
from rsbench.protocols.base import (
    ProtocolContext,
    ProtocolResult,
    finite_loss,
    resolved_hparams,
    warmup_cosine,
)
from rsbench.protocols.frozen_features import cached_splits
from rsbench.protocols.probe_heads import fitted_heads, head_arithmetic
from rsbench.protocols.recipes import NONE, NUMBER, recipe, recipe_sentence

RECIPE = recipe_sentence("classification", "linear_probe")  # tasks/classification/_protocols/linear_probe.yaml
SCHEMA = {
    "epochs": (int,), "batch_size": (int,), "blr_grid": (list,), "warmup_epochs": (int,),
    "weight_decay": NUMBER, "momentum": NUMBER, "optimizer": (str,), "refit_on_trainval": (bool,),
    "search": (dict, NONE),  # optuna search replacing blr_grid: rsbench/protocols/search.py
}
DEFAULTS = recipe("classification", "linear_probe")  # tasks/classification/_protocols/linear_probe.yaml


class ProbeHead(L.LightningModule):
    """Trains ``probe_head`` on cached features with MAE's LARS recipe."""

    def __init__(self, dim: int, num_classes: int, lr: float, hp: dict, steps: int,
                 loss: Callable | None = None) -> None:
        super().__init__()
        self.head = probe_head(dim, num_classes)
        self.lr, self.hp, self.steps = lr, hp, steps
        self.loss = loss or nn.functional.cross_entropy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return finite_loss(self.loss(self.head(x), y), self.global_step)

    def optimizer(self) -> torch.optim.Optimizer:
        """SGD with momentum, or MAE's LARS (which adapts only the weight matrix, not the bias)."""
        linear, hp = self.head[1], self.hp
        if hp["optimizer"] == "sgd":
            return torch.optim.SGD(self.head.parameters(), lr=self.lr, momentum=hp["momentum"],
                                   weight_decay=hp["weight_decay"])
        if hp["optimizer"] != "lars":
            raise SpecError(f"protocol.optimizer {hp['optimizer']!r}: allowed 'sgd' or 'lars'")
        from timm.optim import Lars

        groups = [
            {"params": [linear.weight], "always_adapt": True, "weight_decay": hp["weight_decay"]},
            {"params": [linear.bias], "always_adapt": False, "weight_decay": 0.0},
        ]
        return Lars(groups, lr=self.lr, momentum=hp["momentum"])

    def configure_optimizers(self):
        opt = self.optimizer()
        warmup = self.steps * self.hp["warmup_epochs"] // max(1, self.hp["epochs"])
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: warmup_cosine(s, warmup, self.steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def fitted_head(x: torch.Tensor, y: torch.Tensor, num_classes: int, blr: float, hp: dict,
                ctx: ProtocolContext, callbacks: list | None = None,
                loss: Callable | None = None) -> ProbeHead:
    """A probe head trained on ``(x, y)`` at base learning rate ``blr``.

    ``callbacks``: Lightning callbacks for the trainer (the search's per-epoch val reporting).
    ``loss``: ``loss(logits, y)`` (None: cross-entropy on class indices).
    """
    L.seed_everything(ctx.seed, workers=True, verbose=False)
    batch = min(hp["batch_size"], len(y))
    generator = torch.Generator().manual_seed(ctx.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True, generator=generator,
                        drop_last=len(y) > batch)
    steps = len(loader) * hp["epochs"]
    module = ProbeHead(x.shape[1], num_classes, blr * batch / 256, hp, steps, loss)
    # The head is tiny and its data sits in memory: one CPU process in fp32 trains it fastest
    # and keeps the probe bit-reproducible whatever ran the feature extraction.
    trainer = make_trainer(replace(ctx.opts, progress=False), max_epochs=hp["epochs"],
                           accelerator="cpu", devices=1, strategy="auto", precision="32-true",
                           callbacks=list(callbacks or []))
    with head_arithmetic():  # as the batched sweep: the same bits on any machine
        trainer.fit(module, loader)
    return module.eval()


@torch.no_grad()
def predictions(head: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Class indices for features ``x``."""
    return head(x).argmax(dim=1)


@torch.no_grad()
def logits(head: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The head's logits for features ``x`` (what a ``probe_loss`` task type scores)."""
    return head(x)


def probe_loss(ctx: ProtocolContext) -> Callable | None:
    """The task type's head loss (``plugin.probe_loss``), None for cross-entropy."""
    return getattr(ctx.plugin, "probe_loss", None)


def grid_heads(x: torch.Tensor, y: torch.Tensor, num_classes: int, runs: list[tuple[int, float]],
               hp: dict, ctx: ProtocolContext) -> list[nn.Module | None]:
    """One trained head per ``(seed, base learning rate)`` of ``runs`` (None: it diverged): the
    batched sweep for cross-entropy, one ``fitted_head`` each (a divergence caught) for a task
    type's own loss."""
    from rsbench import progress

    seeds = len({seed for seed, _ in runs})
    progress.stage(f"heads ({len(runs)}{f', {seeds} seeds' if seeds > 1 else ''})")
    loss = probe_loss(ctx)
    if loss is None:
        return list(fitted_heads(x, y, num_classes, runs, hp, ctx))
    heads: list[nn.Module | None] = []
    for seed, blr in runs:
        try:
            heads.append(fitted_head(x, y, num_classes, blr, hp, at_seed(ctx, seed), loss=loss))
        except FloatingPointError:  # finite_loss: this value diverged, the sweep goes on
            heads.append(None)
    return heads


def at_seed(ctx: ProtocolContext, seed: int) -> ProtocolContext:
    """``ctx`` with its run seed ``seed`` (all else shared: data, features, cache)."""
    moved = copy.copy(ctx)
    moved.seed = seed
    return moved


def searched_probe(ctx: ProtocolContext, hp: dict, train: tuple, val: tuple,
                   num_classes: int) -> tuple[dict, dict]:
    """``(best {"blr", ...}, summary)`` of the optuna search: heads fit on ``train``, scored on
    ``val`` after every epoch; the test split is not an argument."""
    from rsbench.protocols.search import ValPruning, search_spec, searched

    spec = search_spec(hp["search"], ("blr", "weight_decay"), ctx.task.path)
    if "blr" not in spec["params"]:
        raise SpecError(f"{ctx.task.path}: protocol.search.params must include blr for the probe")
    (xtr, ytr), (xva, yva) = train, val
    if len(yva) == 0:
        raise SpecError(f"{ctx.task.task}: protocol.search needs a validation split; "
                         "raise dataset.split.val_fraction")

    outputs = predictions if probe_loss(ctx) is None else logits

    def val_score(head) -> float:
        return ctx.plugin.scores(outputs(head, xva), yva, num_classes)[ctx.task.primary_metric]

    def objective(trial, params: dict) -> float:
        pruning = ValPruning(trial, val_score)
        head = fitted_head(xtr, ytr, num_classes, params["blr"], {**hp, **params}, ctx, [pruning],
                           loss=probe_loss(ctx))
        pruning.raise_if_pruned()
        return val_score(head)

    return searched(ctx, spec, objective)


def run(ctx: ProtocolContext) -> ProtocolResult:
    """Probe: pick blr on val, refit, score on test."""
    outcome = run_seeds(ctx, [ctx.seed])[ctx.seed]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def run_seeds(ctx: ProtocolContext, seeds: list[int]) -> dict[int, ProtocolResult | Exception]:
    """``run`` at each of ``seeds``, from one pass: every seed's grid trains at once, then every
    seed's refit. A seed draws its heads' initialisation and mini-batch order only (features and
    splits do not depend on it), so each result equals ``run`` at that seed, bit for bit; a seed
    whose refit diverged gets its error, the others their results. With ``search`` set, each
    seed runs its own study, one after another."""
    hp = resolved_hparams(DEFAULTS, ctx.task.protocol, ctx.task.path, SCHEMA)
    if hp["search"] is not None and len(seeds) > 1:
        return {seed: outcome(run, at_seed(ctx, seed)) for seed in seeds}

    def choosable(val_size: int) -> None:
        if val_size == 0 and len(hp["blr_grid"]) > 1 and hp["search"] is None:
            raise SpecError(f"{ctx.task.task}: the validation split is empty, so no blr can be "
                            "chosen from blr_grid; raise dataset.split.val_fraction or give one blr")

    # On the split sizes before the backbone pass, and again on the features (a bundle
    # without a ``val`` dataset of its own is known only then).
    splits, data, timings = cached_splits(
        ctx, check=lambda data: choosable(len(data.val)) if hasattr(data, "val") else None)
    (xtr, ytr), (xva, yva), (xte, yte) = splits["train"], splits["val"], splits["test"]
    choosable(len(yva))
    k = len(data.classes)
    start = time.perf_counter()
    outputs = predictions if probe_loss(ctx) is None else logits
    sweeps: dict[int, dict] = {seed: {} for seed in seeds}
    if hp["search"] is not None:  # optuna on train/val instead of the grid (one seed: above)
        (seed,) = seeds
        chosen, summary = searched_probe(at_seed(ctx, seed), hp, (xtr, ytr), (xva, yva), k)
        best = {seed: chosen.pop("blr")}
        hp = {**hp, **chosen, "search": summary}
    else:
        grid = hp["blr_grid"] if len(hp["blr_grid"]) > 1 else []  # one value: nothing to pick
        # Every seed's grid trains at once (rsbench/protocols/probe_heads.py); a diverging
        # value loses its sweep, it does not fail it.
        runs = [(seed, blr) for seed in seeds for blr in grid]
        for (seed, blr), head in zip(runs, grid_heads(xtr, ytr, k, runs, hp, ctx) if runs else [],
                                     strict=True):
            sweeps[seed][str(blr)] = None if head is None else ctx.plugin.scores(
                outputs(head, xva), yva, k)[ctx.task.primary_metric]
        best = {seed: best_blr(hp["blr_grid"], sweeps[seed]) for seed in seeds}
    if hp["refit_on_trainval"]:
        xtr, ytr = torch.cat([xtr, xva]), torch.cat([ytr, yva])
    refits = grid_heads(xtr, ytr, k, list(best.items()), hp, ctx)
    head_s = time.perf_counter() - start
    results: dict[int, ProtocolResult | Exception] = {}
    for (seed, blr), head in zip(best.items(), refits, strict=True):
        if head is None:
            results[seed] = FloatingPointError(
                f"{ctx.task.task}: the probe diverged at blr {blr} when refitted")
            continue
        hparams = {**hp, "blr": blr, "lr": blr * min(hp["batch_size"], len(ytr)) / 256,
                   "val_sweep": sweeps[seed], "recipe": RECIPE,
                   **({} if probe_loss(ctx) is None else {"loss": "binary_cross_entropy_with_logits"})}
        # head_s and the record's total_s time the one pass of all ``seeds_in_pass`` seeds
        results[seed] = ProtocolResult(ctx.plugin.scores(outputs(head, xte), yte, k), hparams,
                                       {**timings, "head_s": head_s, "seeds_in_pass": len(seeds)},
                                       data.summary())
    return results


def best_blr(grid: list[float], sweep: dict[str, float | None]) -> float:
    """The grid value of the best val score (a diverged one scores 0; ties: first in grid order)."""
    return max(grid, key=lambda blr: sweep.get(str(blr)) or 0.0)


def outcome(fn: Callable, *args):
    """``fn(*args)``, or the exception it raised (one seed's failure is its record's alone)."""
    try:
        return fn(*args)
    except Exception as exc:
        return exc
