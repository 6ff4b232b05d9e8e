"""One run loop for every protocol that trains: classification fine-tuning, segmentation and
detection with a frozen or a fine-tuned encoder.

A task type says *what* is trained and scored by filling the hooks of :class:`TrainedProtocol`
(its Lightning module, train transform, collate, schedule, scores); :meth:`TrainedProtocol.run`
says *how*, once for all of them (docs/ARCHITECTURE.md, "Protocols and the engine"):

- seed, data (with the train transform), backbone (drop path only when the encoder trains);
- ``batch_size`` is the **global** batch, the number a recipe prints: with N processes each
  takes ``batch_size / N`` (refused when it does not divide), so a recipe means the same on one
  CPU and on 64 GPUs;
- ``--strategy fsdp`` shards every protocol the same way: the memory workload of the encoder
  goes to :func:`rsbench.engine.trainer.make_trainer` (the Frontier policy), and the module's
  ``configure_model`` applies FSDP2 on CPU (:class:`ShardedModule`);
- preemption safety under SLURM for every protocol: epoch-end checkpoints in the run's own
  folder, save + requeue on the warning signal, bit-identical resume
  (:mod:`rsbench.engine.resume`);
- one exact distributed evaluation: :func:`rsbench.engine.predict.predict_in_order`, every test
  sample once, in dataset order, on every rank;
- precision resolved once, when ``EngineOptions`` is made (:mod:`rsbench.engine.precision`),
  the same timings;
- BatchNorm in decoders is synchronised across processes on GPUs (mmseg's SyncBN). PyTorch's
  ``SyncBatchNorm`` has no CPU implementation, so several CPU processes keep per-process batch
  statistics: there a decoder with BatchNorm matches DDP, not one process.

A module's ``predict_step`` returns per-sample outputs (a tensor or tuple of tensors with the
batch first, or a list with one entry per sample); ``scores`` receives them in dataset order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rsbench.config import SpecError

if TYPE_CHECKING:
    import lightning as L
    import torch

    from rsbench.config import TaskSpec
    from rsbench.engine.features import FeatureCache
    from rsbench.engine.trainer import EngineOptions


@dataclass
class ProtocolContext:
    """Everything a protocol needs, built lazily so that cache hits cost nothing.

    Attributes:
        task: the resolved task spec.
        seed: the run seed (weights init, data order, augmentation).
        opts: engine options (device, precision, workers).
        make_backbone: builds the loaded backbone; keyword args are timm overrides
            such as ``drop_path_rate``, and ``sharded=True`` asks for a lazy encoder that
            ``ShardedModule.configure_model`` fills rank by rank (a maker may ignore it).
        make_data: builds the task's data; takes the train-time transform.
        cache: feature cache for frozen protocols.
        identity: what identifies model + data for caching (checkpoint hash, precision, ...).
        plugin: the task-type plugin module (``rsbench.tasks.<type>``).
    """

    task: TaskSpec
    seed: int
    opts: EngineOptions
    make_backbone: Callable[..., Any]
    make_data: Callable[..., Any]
    cache: FeatureCache | None
    identity: dict
    plugin: ModuleType


@dataclass
class ProtocolResult:
    """Metrics (fractions in [0, 1] for accuracies) and the hyper-parameters actually used."""

    metrics: dict[str, Any]
    hparams: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def resolved_hparams(defaults: dict, given: dict, where: str | None,
                     schema: dict[str, tuple] | None = None) -> dict:
    """``defaults`` (the recipe's values) updated with the task's ``protocol:`` section (minus
    ``name``/``recipe``), checked against the protocol's ``schema`` of keys and types."""
    given = {k: v for k, v in given.items() if k not in ("name", "recipe")}
    unknown = sorted(set(given) - set(schema or defaults))
    if unknown:
        raise SpecError(f"{where}: protocol option(s) {unknown} are not used by this protocol; "
                        f"allowed: {sorted(schema or defaults)}")
    if schema is None:
        return {**defaults, **given}
    from rsbench.protocols.recipes import checked_values

    return checked_values({**defaults, **given}, schema, where)


def recipe_text(template: str, values: dict) -> str:
    """The recipe sentence with the values the run used (``{lr}`` etc. filled from ``values``),
    so a record never says "160k iters" of a run that trained for 2,000."""
    shown = {k: f"{v:g}" if isinstance(v, float) else v for k, v in values.items()}
    return template.format(**shown)


def finite_loss(loss: torch.Tensor, step: int) -> torch.Tensor:
    """``loss``, or a ``FloatingPointError`` when it is NaN or infinite: a diverged run must end
    as a ``failed`` record with the reason, never train on and score garbage."""
    import torch

    if not torch.isfinite(loss):
        raise FloatingPointError(f"non-finite training loss {loss.item()} at step {step}")
    return loss


def per_rank_batch(batch_size: int, world_size: int, where: str) -> int:
    """``batch_size`` is the global batch, split evenly over the processes."""
    if batch_size % world_size:
        raise SpecError(f"{where}: batch_size {batch_size} (global) is not divisible by the "
                        f"{world_size} processes; choose a multiple of {world_size}")
    return batch_size // world_size


def steps_per_epoch(n: int, per_rank: int, world_size: int) -> int:
    """Optimiser steps in one pass over ``n`` training samples with ``drop_last``.

    Distributed, Lightning deals the samples with ``DistributedSampler`` (padded to
    ``ceil(n / world)`` per rank), each rank's loader then drops its last partial batch.
    """
    return math.ceil(n / world_size) // per_rank if world_size > 1 else n // per_rank


def training_order(dataset: Any, world: int, seed: int) -> dict:
    """DataLoader arguments that give the same global batches on any number of processes.

    Distributed, Lightning deals a shuffled loader with ``DistributedSampler(shuffle=True,
    seed=PL_GLOBAL_SEED)`` (the run seed, set by ``seed_everything``): the permutation of epoch
    ``e`` is ``randperm(n)`` seeded ``seed + e``, rank ``r`` takes every ``world``-th sample from
    ``r``. One process reads the same permutation in order through the same sampler with one
    replica, so global step ``k`` trains on the same samples whatever the process count.
    """
    if world > 1:
        return {"shuffle": True}
    from torch.utils.data import DistributedSampler

    return {"sampler": DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=seed)}


@dataclass(frozen=True)
class Schedule:
    """What the loop fixed before the module is built: lengths and the global batch."""

    batch_size: int
    per_rank: int
    world_size: int
    steps_per_epoch: int
    total_steps: int


def StepBudget(total: int):  # noqa: N802  (a Lightning callback class, built on first use)
    """A callback that stops training after ``total`` optimiser steps, mid-epoch if need be."""
    import lightning as L

    class _StepBudget(L.Callback):
        def on_train_batch_end(self, trainer, *args) -> None:
            if trainer.global_step >= total:
                trainer.should_stop = True

    return _StepBudget()


class ShardedModule:
    """Mixin for a protocol's LightningModule: FSDP2 under ``--strategy fsdp`` on CPU.

    Every forward the strategy must see goes through ``self(...)`` (the root module), so that
    FSDP2's root hooks gather the parameters that live outside the transformer blocks.

    Under ``--strategy fsdp`` on the CPU the loop asks ``ctx.make_backbone(sharded=True)``,
    which may return a *lazy* backbone (``rsbench.checkpoints.sharded.lazy_backbone``): its
    encoder on the meta device, checked against the file by shapes, nothing read. The module
    is built around it as usual (heads initialise normally; nothing may read encoder values
    before ``configure_model``), and ``configure_model`` shards each block and the encoder,
    fills every rank's shards from the file over the strategy's device mesh, then shards the
    root. A ``make_backbone`` that ignores ``sharded`` (a random-init card, a test's fake)
    hands over a whole encoder, which is sharded the same way.
    """

    def configure_model(self) -> None:
        from rsbench.engine.sharding import shard_module

        shard_module(self)  # a no-op unless the trainer runs ModelParallelStrategy


class TrainedProtocol:
    """A protocol that trains, for one task type; subclasses fill the hooks.

    Class attributes:
        defaults: the recipe's values (``rsbench.protocols.recipes.recipe``: the shipped
            ``tasks/<type>/_protocols/<name>.yaml``).
        schema: every allowed ``protocol:`` key with its allowed types.
        recipe: the recipe sentence, a template over the resolved hyper-parameters.
        frozen: whether the encoder is frozen (no drop path, no encoder gradients).
        deterministic: Lightning's ``deterministic`` (``"warn"`` where CUDA has no
            deterministic backward for a kernel the model uses).
    """

    defaults: dict[str, Any] = {}
    schema: dict[str, tuple] | None = None
    recipe: str = ""
    frozen: bool = False
    deterministic: bool | str = True

    @property
    def DEFAULTS(self) -> dict:  # noqa: N802  (the name protocol modules expose)
        """The recipe's values, as ``rsbench.protocols.protocol_module(...).DEFAULTS``."""
        return self.defaults

    # -- hooks ----------------------------------------------------------------------------
    def validated(self, hp: dict, task: Any) -> dict:
        """``hp`` once its values suit ``task`` (a ``TaskSpec``), from the spec alone: run by
        ``rsbench run``'s usage check before anything loads, and again by :meth:`run`.
        Raise ``SpecError`` naming the task if not."""
        return hp

    def checked(self, hp: dict, ctx: ProtocolContext) -> dict:
        """The hyper-parameters once consistent (raise ``SpecError`` naming the task if not)."""
        return hp

    def train_transform(self, ctx: ProtocolContext, hp: dict) -> Callable | None:
        return None

    def collate(self) -> Callable | None:
        return None

    def sync_batchnorm(self, hp: dict) -> bool:
        return False

    def total_steps(self, hp: dict, per_epoch: int) -> int:
        """Optimiser steps of the whole run (``iterations`` when the recipe counts steps)."""
        iterations = hp.get("iterations")
        return int(iterations) if iterations is not None else hp["epochs"] * per_epoch

    def trainer_length(self, hp: dict, schedule: Schedule) -> dict:
        """How long Lightning trains: ``max_epochs``, and for recipes that count iterations
        enough epochs to hold them plus a :class:`StepBudget` that stops at the last one.

        Not ``max_steps``: Lightning resumes a run with ``max_steps`` set as if it had stopped
        mid-epoch, repeating part of an epoch (measured: one extra step after an epoch-end
        checkpoint), so a preempted run would not equal an uninterrupted one.
        """
        if hp.get("iterations") is None:
            return {"max_epochs": hp["epochs"]}
        total = schedule.total_steps
        return {"max_epochs": math.ceil(total / schedule.steps_per_epoch), "callbacks": [StepBudget(total)]}

    def module(self, ctx: ProtocolContext, hp: dict, data: Any, backbone: Any,
               schedule: Schedule) -> L.LightningModule:
        raise NotImplementedError

    def eval_batch_size(self, hp: dict) -> int:
        return int(hp.get("eval_batch_size") or hp["batch_size"])

    def scores(self, ctx: ProtocolContext, data: Any, outputs: Any) -> dict:
        raise NotImplementedError

    def resolved(self, module: Any, hp: dict, ctx: ProtocolContext) -> dict:
        """Hyper-parameters for the record: ``hp`` plus values the run derived."""
        return hp

    # -- the loop -------------------------------------------------------------------------
    def run(self, ctx: ProtocolContext) -> ProtocolResult:
        """Train on train, score the model after the last step on test."""
        import lightning as L
        import torch
        from torch.utils.data import DataLoader

        from rsbench.backbones.memory import module_workload
        from rsbench.engine.predict import predict_in_order
        from rsbench.engine.resume import checkpoint_path, discard, resume_dir, run_key, under_slurm
        from rsbench.engine.trainer import (
            accelerator_name,
            make_trainer,
            world_size,
        )

        task = ctx.task
        hp = resolved_hparams(self.defaults, task.protocol, task.path, self.schema)
        hp = self.checked(self.validated(hp, task), ctx)
        L.seed_everything(ctx.seed, workers=True, verbose=False)
        data = ctx.make_data(train_transform=self.train_transform(ctx, hp))
        from rsbench.engine.sharding import lazy_args

        lazy = lazy_args(ctx.opts)  # see ShardedModule
        extra = {} if self.frozen else {"drop_path_rate": hp["drop_path"]}
        backbone = ctx.make_backbone(**lazy, **extra)
        world = world_size(ctx.opts)
        per_rank = per_rank_batch(hp["batch_size"], world, task.task)
        per_epoch = steps_per_epoch(len(data.train), per_rank, world)
        if per_epoch == 0:
            raise SpecError(f"{task.task}: batch_size {hp['batch_size']} exceeds the "
                            f"{len(data.train)} training images")
        schedule = Schedule(hp["batch_size"], per_rank, world, per_epoch, self.total_steps(hp, per_epoch))
        module = self.module(ctx, hp, data, backbone, schedule)
        workload = module_workload(backbone, per_rank, task.dataset.image_size, ctx.opts.precision,
                                   training=not self.frozen)
        # Under SLURM: the run's own checkpoint folder (epoch ends, save + requeue on warning).
        saved = resume_dir(ctx.opts.root_dir, run_key(ctx)) if under_slurm() else None
        generator = torch.Generator().manual_seed(ctx.seed)
        trainer = make_trainer(ctx.opts, workload=workload, resume_dir=saved, resume_generator=generator,
                               deterministic=self.deterministic,
                               sync_batchnorm=self.sync_batchnorm(hp) and accelerator_name(ctx.opts.accelerator) == "gpu",
                               **self.trainer_length(hp, schedule))
        train = DataLoader(data.train, batch_size=per_rank, drop_last=True, generator=generator,
                           num_workers=ctx.opts.num_workers, collate_fn=self.collate(),
                           **training_order(data.train, world, ctx.seed))
        start = time.perf_counter()
        trainer.fit(module, train, ckpt_path=checkpoint_path(saved) if saved else None)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        from rsbench import progress

        progress.stage("testing")
        outputs = predict_in_order(trainer, module, data.test, self.eval_batch_size(hp),
                                   ctx.opts.num_workers, collate_fn=self.collate())
        test_s = time.perf_counter() - start
        start = time.perf_counter()
        progress.stage("scoring")
        metrics = self.scores(ctx, data, outputs)
        score_s = time.perf_counter() - start
        if saved:
            discard(saved)  # the record follows at once; a kill in between only re-runs the seed
        n_seen = trainer.global_step * hp["batch_size"]
        timings = {"train_s": train_s, "train_img_per_s": n_seen / max(train_s, 1e-9),
                   "test_s": test_s, "score_s": score_s}
        used = self.resolved(module, hp, ctx)
        template = task.protocol.get("recipe") or self.recipe  # the task file's sentence wins
        return ProtocolResult(metrics, {**used, "recipe": recipe_text(template, used)},
                              timings, data.summary())
