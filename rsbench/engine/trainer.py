"""The one place where strings become Lightning objects: accelerator, strategy, precision.

Science code (protocols, tasks) asks for a Trainer here and never touches strategies itself, so
that switching a run from a laptop CPU to DDP on a cluster changes flags, not code.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rsbench.errors import UserError

PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true")
STRATEGIES = ("auto", "ddp", "fsdp")
SHARDINGS = ("auto", "FULL_SHARD", "SHARD_GRAD_OP", "HYBRID_SHARD")


@dataclass(frozen=True)
class EngineOptions:
    """How to run: device, parallelism, numerics, loader workers and output verbosity."""

    accelerator: str = "auto"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "auto"
    num_workers: int = 0
    progress: bool = True
    root_dir: str = "."
    # --strategy fsdp only: FSDP sharding ("auto": the Frontier policy in backbones/memory.py)
    # and activation checkpointing of transformer blocks (auto also turns it on when needed).
    sharding: str = "auto"
    activation_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise UserError(f"--precision {self.precision!r}: allowed {', '.join(PRECISIONS)}")
        if self.strategy not in STRATEGIES:
            raise UserError(f"--strategy {self.strategy!r}: allowed {', '.join(STRATEGIES)}")
        if self.sharding not in SHARDINGS:
            raise UserError(f"--sharding {self.sharding!r}: allowed {', '.join(SHARDINGS)}")
        if self.strategy == "fsdp" and self.precision == "16-mixed":
            # Lightning would refuse it only once the trainer is built, after the load.
            raise UserError("--precision 16-mixed does not run under --strategy fsdp (Lightning's "
                            "ModelParallelStrategy, FSDP2, does not support it); use bf16-mixed, "
                            "or 16-mixed with --strategy ddp")
        # Resolved here, once: records name the precision, so no code downstream sees "auto".
        from rsbench.engine.precision import run_precision

        object.__setattr__(self, "precision", run_precision(self.precision, self.accelerator))

    def to_dict(self) -> dict:
        return asdict(self)


def accelerator_name(accelerator: str) -> str:
    """``auto`` resolved to ``gpu`` when CUDA (or ROCm, which presents as cuda) is present."""
    if accelerator != "auto":
        return accelerator
    import torch

    return "gpu" if torch.cuda.is_available() else "cpu"


def world_size(opts: EngineOptions) -> int:
    """Processes the run is configured for (``devices: auto`` counts the visible GPUs)."""
    devices = opts.devices
    if devices == "auto":
        import torch

        devices = torch.cuda.device_count() if accelerator_name(opts.accelerator) == "gpu" else 1
    return max(1, int(devices)) * int(opts.num_nodes)


def make_trainer(opts: EngineOptions, max_epochs: int | None = None, workload=None,
                 resume_dir: Path | None = None, resume_generator=None, **overrides):
    """A deterministic Lightning ``Trainer`` for ``opts``; ``overrides`` win (e.g. max_steps).

    ``workload`` (``rsbench.backbones.memory.Workload``) is how a protocol opts in to
    ``--strategy fsdp``: the sharding is chosen from its memory estimate and printed before
    training, and the module must shard itself in ``configure_model``
    (``rsbench.engine.sharding.shard_module``; fine-tuning does). A trainer asked for without a
    workload (a linear-probe head, frozen features, protocols not yet sharded) runs plain DDP
    instead: under FSDP2's ``ModelParallelStrategy`` an unsharded module would train without
    gradient synchronisation.

    ``resume_dir`` (a run's own folder, :func:`rsbench.engine.resume.resume_dir`) makes a run
    under SLURM preemption-safe: epoch-end checkpoints there, save + requeue on SIGUSR1
    (``resume_generator``: the train loader's shuffling generator, saved with them). Outside
    SLURM it changes nothing; under SLURM every trainer gets Lightning's SLURM environment
    with its own requeue handler off (see :func:`rsbench.engine.resume.slurm_plugins`).
    """
    import lightning as L

    os.environ.setdefault("PL_DISABLE_FORK", "1")
    accelerator = accelerator_name(opts.accelerator)
    strategy: object = opts.strategy
    if opts.strategy == "fsdp" and workload is not None:
        from rsbench.engine.sharding import fsdp_strategy

        strategy = fsdp_strategy(opts, accelerator, workload)
    else:  # one process needs no DDP: over one rank it would only hold its buckets
        strategy = data_parallel() if world_size(opts) > 1 else "auto"
    kwargs: dict[str, Any] = {
        "accelerator": accelerator,
        "devices": opts.devices,
        "num_nodes": opts.num_nodes,
        "strategy": strategy,
        "precision": opts.precision,
        "max_epochs": max_epochs,
        "deterministic": True,
        "logger": False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
        "enable_progress_bar": opts.progress,
        "default_root_dir": str(Path(opts.root_dir)),
        "num_sanity_val_steps": 0,
    }
    if os.environ.get("SLURM_JOB_ID"):  # outside SLURM nothing changes
        from rsbench.engine.resume import trainer_extras

        kwargs.update(trainer_extras(resume_dir and Path(resume_dir), resume_generator))
    callbacks = [*kwargs.pop("callbacks", []), *overrides.pop("callbacks", [])]  # keep both
    kwargs.update(overrides, callbacks=callbacks)
    from rsbench import progress

    if progress.active():  # the run's live display shows the steps (rich: one live display)
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), progress.lightning_callback()]
    elif opts.progress:
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), progress_bar()]
    return L.Trainer(**kwargs)


def data_parallel():
    """Lightning's DDP with each gradient a view into DDP's all-reduce buckets, and no
    broadcast of weights every rank already holds (``DataParallel``).

    By default DDP keeps its buckets beside the gradients, a second copy of every gradient on
    every rank; as views the backward writes into the buckets themselves, and the all-reduce
    and the values are the same. DDP still re-allocates its buckets once, after the first
    step, before it frees the old ones, so for that moment the gradients are held twice
    (``rsbench.plan`` counts it; ViT-L fine-tune on 2 CPU ranks, BENCHMARKS.md: peak 7.16 GB
    per rank, 7.48 GB with Lightning's default DDP, 6.36 GB in one process).
    """
    from lightning.pytorch.strategies import DDPStrategy
    from lightning.pytorch.trainer.states import TrainerFn

    class DataParallel(DDPStrategy):
        """Outside fitting (test predictions, frozen features) Lightning broadcasts every
        weight from rank 0, although each rank read the same checkpoint. On the CPU that
        writes each rank's memory-mapped weights, turning shared, reclaimable page cache
        into a private copy per rank (ViT-L frozen, 2 ranks: 2.05 GB of anonymous memory
        per rank against 0.68 GB in one process) and spends seconds on gloo. So the ranks
        first compare digests of their states, and only states that differ are sent."""

        def setup(self, trainer) -> None:
            if trainer.state.fn == TrainerFn.FITTING or self.root_device.type != "cpu":
                return super().setup(trainer)
            model: Any = self.model
            same = states_alike_on_every_rank(model)
            ignored = getattr(model, "_ddp_params_and_buffers_to_ignore", None)
            # Lightning's sync leaves out what DDP's own ignore list names.
            model._ddp_params_and_buffers_to_ignore = [*(ignored or []), *same]
            try:
                super().setup(trainer)
            finally:
                if ignored is None:
                    del model._ddp_params_and_buffers_to_ignore
                else:
                    model._ddp_params_and_buffers_to_ignore = ignored

    return DataParallel(gradient_as_bucket_view=True)


def states_alike_on_every_rank(module) -> list[str]:
    """Names of ``module``'s parameters and buffers whose bytes are the same on every rank
    (a BLAKE2 digest per tensor, gathered; reading a tensor leaves it where it is)."""
    import hashlib

    import torch
    import torch.distributed as dist

    def digest(t) -> str:
        flat = t.detach().contiguous().reshape(-1).view(torch.uint8).numpy()
        return f"{t.dtype}{tuple(t.shape)}" + hashlib.blake2b(flat, digest_size=16).hexdigest()

    mine = {name: digest(t) for name, t in
            [*module.named_parameters(), *module.named_buffers()]}
    every: list = [None] * dist.get_world_size()
    dist.all_gather_object(every, mine)
    return [name for name, d in mine.items() if all(rank.get(name) == d for rank in every)]


def progress_bar():
    """Lightning's rich bar, naming steps rather than "Epoch 29/-2" when training by steps."""
    from lightning.pytorch.callbacks import RichProgressBar

    class StepAwareBar(RichProgressBar):
        def _get_train_description(self, current_epoch: int) -> str:
            if self.trainer.max_epochs in (None, -1):
                return f"Training (max {self.trainer.max_steps} steps)"
            return super()._get_train_description(current_epoch)

    # on stderr, the terminal that progress.wanted checked; stdout carries the results
    return StepAwareBar(console_kwargs={"stderr": True})

