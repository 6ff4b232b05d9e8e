"""Preemption-safe training under SLURM: save at epoch ends, requeue on warning, resume exactly.

A run under SLURM (``SLURM_JOB_ID`` set) trains with a :class:`Preemption` callback:

- SLURM's warning (``#SBATCH --signal=B:USR1@N``, forwarded by ``slurm/launch.sh``, or
  ``scancel --batch --signal=USR1``) only sets a flag; at the end of the current epoch every
  rank agrees on it, the state is saved (``resume.ckpt``), rank 0 runs ``scontrol requeue``
  and the process stops with :class:`Requeued` (a ``SystemExit``, so no record is written);
- every ``RSBENCH_CKPT_EVERY_EPOCHS`` epochs (default 1) the state is saved too, so a job killed
  without warning loses at most that much work;
- the requeued job finds the checkpoint in the run's own folder, ``<cache>/resume/<key>``, and
  ``fit(ckpt_path=...)`` continues from it.

Why epoch ends and not Lightning's own handler (``SLURMEnvironment(auto_requeue=True)``): that
one saves mid-epoch, and Lightning 2.6 resumes a mid-epoch checkpoint by restarting the data
iterator, so the resumed run sees different batches. Saved at an epoch end together with the
random states Lightning does not keep (torch, CUDA, numpy, python and the loader's shuffling
generator), the resumed run is bit-identical to an uninterrupted one. Lightning's own handler is
turned off (``auto_requeue=False``).

Several processes (DDP, FSDP): the random states are gathered from every rank into the checkpoint
and each rank restores its own: a rank's CUDA generator advances on that rank's device only, and
augmentations that depend on the data (crops around objects, say) draw differently per rank, so
rank 0's states restored everywhere would change the other ranks' randomness. Under FSDP2
(``ModelParallelStrategy``) the checkpoint is a folder of shards (``torch.distributed.checkpoint``),
not a file; it is replaced as a whole (see :meth:`Preemption.save`).

The name is deliberately not Lightning's ``hpc_ckpt_*``: the folder is the trainer's
``default_root_dir``, and under SLURM Lightning loads any ``hpc_ckpt_*`` found there into every
later ``fit``/``validate``/``test``/``predict`` called without a ``ckpt_path``, so the
prediction after ``fit`` would run on the last periodic checkpoint instead of the final weights.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any, cast

import lightning as L
import numpy as np
import torch

from rsbench.console import log, warn

CKPT_NAME = "resume.ckpt"
# Written by ModelParallelStrategy next to the shards of a distributed checkpoint folder, last
# (lightning.fabric.strategies.fsdp._METADATA_FILENAME): a folder without it is incomplete.
SHARDED_META = "meta.pt"
EVERY_ENV = "RSBENCH_CKPT_EVERY_EPOCHS"


class Requeued(SystemExit):
    """Raised after the state is saved and the job requeued: the run ends without a record."""


_warned = False  # this process got the preemption warning (set by Preemption's handler)


def warned() -> bool:
    """Whether this process got SLURM's preemption warning: the job is ending, so a failure
    now (a peer rank killed by the requeue, say) is not the run's and gets no record; the
    process exits non-zero and ``slurm/launch.sh`` requeues the job if nothing else did."""
    return _warned


def under_slurm() -> bool:
    """Whether this process runs inside a SLURM job (batch or srun step)."""
    return bool(os.environ.get("SLURM_JOB_ID"))


def slurm_job_id() -> str:
    """The id ``scontrol requeue`` needs: ``ARRAY_TASK`` form inside job arrays."""
    array = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array:
        return f"{array}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ["SLURM_JOB_ID"]


def run_key(ctx) -> str:
    """A protocol run's key: the record id's inputs a protocol sees (model identity, task name,
    version and spec hash, which includes any ``--set`` override, seed, precision)."""
    from rsbench.results import record_id

    task = ctx.task
    return record_id({"model": ctx.identity["model"], "seed": ctx.seed,
                      "task": {"name": task.task, "version": task.version, "spec_hash": task.hash},
                      "precision": ctx.identity["precision"]})


def resume_dir(cache_dir: str | Path, key: str) -> Path:
    """The run's own checkpoint folder under the cache dir."""
    return Path(cache_dir) / "resume" / key


def complete(path: Path) -> bool:
    """A whole checkpoint: a file, or a folder of shards with its metadata."""
    return path.is_file() or (path / SHARDED_META).is_file()


def checkpoint_path(folder: Path) -> str | None:
    """The saved state to resume from, if any (the previous one if a save of a sharded
    checkpoint was killed between its two renames)."""
    for path in (Path(folder) / CKPT_NAME, Path(folder) / f"{CKPT_NAME}.old"):
        if complete(path):
            return str(path)
    return None


def remove(path: Path) -> None:
    """Delete a file or a folder, if there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def discard(folder: Path) -> None:
    """Delete a finished run's checkpoint folder."""
    shutil.rmtree(folder, ignore_errors=True)


def every_epochs() -> int:
    """Periodic save interval in epochs (``RSBENCH_CKPT_EVERY_EPOCHS``, default 1; 0 = never)."""
    return int(os.environ.get(EVERY_ENV, "1"))


def finished(trainer) -> bool:
    """Whether this epoch end is the end of training (by epochs, or by steps for recipes that
    count iterations): nothing is left to resume, so no periodic checkpoint is written."""
    if trainer.max_steps is not None and trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps:
        return True
    return trainer.max_epochs is not None and trainer.max_epochs >= 0 and \
        trainer.current_epoch + 1 >= trainer.max_epochs


class Preemption(L.Callback):
    """Epoch-end checkpoints with all random states; save, requeue and stop on ``signum``.

    Args:
        folder: the run's checkpoint folder.
        generator: the training loader's shuffling generator (its state is saved too).
        signum: the warning signal (SIGUSR1, as the sbatch templates request).
    """

    def __init__(self, folder: Path, generator: torch.Generator | None = None,
                 signum: int = signal.SIGUSR1) -> None:
        self.folder, self.generator, self.signum = Path(folder), generator, signum
        self.warned = False
        self._previous: Any = None

    def _on_signal(self, signum, frame) -> None:
        global _warned
        log(f"signal {signum}: saving at the end of this epoch, then requeueing")
        self.warned = _warned = True

    def on_fit_start(self, trainer, pl_module) -> None:
        self._previous = signal.signal(self.signum, self._on_signal)

    def on_fit_end(self, trainer, pl_module) -> None:
        if self._previous is not None:
            signal.signal(self.signum, self._previous)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        warned = trainer.strategy.reduce_boolean_decision(self.warned, all=False)
        every, epoch = every_epochs(), trainer.current_epoch + 1
        periodic = every > 0 and epoch % every == 0 and not finished(trainer)
        if warned or periodic:
            self.save(trainer)
        if warned:
            # Every rank is past its last collective before the requeue kills the step, and
            # the kill is plain: Lightning's SIGTERM handler broadcasts from rank 0, which
            # would meet the other ranks at a barrier (or gone) and fail the run instead.
            trainer.strategy.barrier("rsbench-requeue")
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if trainer.is_global_zero:
                job = slurm_job_id()
                log(f"state saved after epoch {epoch}; scontrol requeue {job}")
                code = subprocess.call(["scontrol", "requeue", job])
                (log if code == 0 else warn)(f"scontrol requeue {job}: exit {code}")
            raise Requeued(0)

    def save(self, trainer) -> None:
        """Write the checkpoint under a temporary name, then rename it on rank 0.

        A file replaces the previous one atomically. A folder of shards cannot be renamed onto
        a non-empty folder (``OSError: [Errno 39] Directory not empty``), so the previous one
        is first moved aside to ``.old``, which :func:`checkpoint_path` falls back to.
        """
        final, tmp, old = (self.folder / f"{CKPT_NAME}{s}" for s in ("", ".tmp", ".old"))
        if trainer.is_global_zero:
            self.folder.mkdir(parents=True, exist_ok=True)
            remove(tmp)  # left by a save that was killed
        trainer.strategy.barrier("rsbench-ckpt-start")
        trainer.save_checkpoint(tmp)
        trainer.strategy.barrier("rsbench-ckpt")
        if trainer.is_global_zero:
            if tmp.is_dir() or final.is_dir():
                if final.exists():
                    remove(old)
                    final.rename(old)
                tmp.rename(final)
                remove(old)
            else:
                os.replace(tmp, final)
        trainer.strategy.barrier("rsbench-ckpt-renamed")

    def state_dict(self) -> dict:
        """Every rank's random states (rank 0 alone writes the checkpoint's non-sharded part).

        Lightning collects callback states on every rank at once, so the gather is safe here.
        """
        local = self._local_state()
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return {"ranks": [local]}
        ranks: list = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(ranks, local)
        return {"ranks": ranks}

    def _local_state(self) -> dict:
        kind, key, pos, has_gauss, gauss = cast(tuple[str, np.ndarray, int, int, float],
                                                np.random.get_state(legacy=True))
        # Plain types only, so the checkpoint loads with torch.load(weights_only=True).
        state = {"torch": torch.get_rng_state(), "python": random.getstate(),
                 "numpy": [kind, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss]}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        if self.generator is not None:
            state["loader"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        ranks = state["ranks"]
        rank, world = 0, 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        if len(ranks) != world:
            warn(f"checkpoint holds random states of {len(ranks)} processes, this run has {world}: "
                 "the resumed run will not be bit-identical to an uninterrupted one")
        state = ranks[rank] if rank < len(ranks) else ranks[0]
        torch.set_rng_state(state["torch"])
        kind, key, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
        random.setstate(state["python"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
        if "loader" in state and self.generator is not None:
            self.generator.set_state(state["loader"])
        log(f"resumed from {checkpoint_path(self.folder)}")


def slurm_plugins() -> dict:
    """Under ``srun``: Lightning's SLURM environment with its own requeue handler off.

    Its handler would save ``hpc_ckpt_*.ckpt`` into the shared ``default_root_dir`` (the cache)
    mid-epoch, where any later trainer under SLURM would pick it up. Without it, a protocol
    that does not checkpoint (kNN, linear probe, frozen) dies on SIGUSR1 and
    ``slurm/launch.sh`` requeues the job, which re-runs that seed from the start.
    """
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    if not under_slurm() or not SLURMEnvironment.detect():
        return {}
    return {"plugins": [SLURMEnvironment(auto_requeue=False)]}


def trainer_extras(folder: Path | None, generator: torch.Generator | None = None) -> dict:
    """``Trainer`` keyword arguments for a run under SLURM (preemption-safe when ``folder`` is
    given); ``{}`` outside SLURM."""
    if not under_slurm():
        return {}
    if folder is None:
        return slurm_plugins()
    return {"callbacks": [Preemption(folder, generator)], "default_root_dir": str(folder),
            **slurm_plugins()}
