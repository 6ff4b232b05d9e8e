"""Frozen-backbone features, extracted once with Lightning ``predict`` and cached on disk.

Linear probe and kNN both read this cache, so the expensive backbone pass runs once per
(checkpoint, dataset split, input size, precision) instead of once per epoch or protocol.

Loading: when ``--workers`` is not given, an extraction on a GPU decodes in worker processes
chosen from the job's CPUs (``SLURM_CPUS_PER_TASK``, else the CPUs this process may run on,
shared by the node's processes), with pinned memory and persistent workers; on a CPU it
decodes in the main process, as the forward pass already uses every core. Workers change
where an image is decoded, never its bytes or its place in the output.
"""

from __future__ import annotations

import os
from collections.abc import Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import torch
from torch.utils.data import Dataset

from rsbench.config import spec_hash
from rsbench.engine.predict import predict_in_order
from rsbench.engine.protocol import ShardedModule
from rsbench.engine.sharding import fills_sharded
from rsbench.engine.trainer import (
    EngineOptions,
    accelerator_name,
    make_trainer,
)

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone

# Bump when the extraction itself changes (pooling, dtype handling), invalidating old caches.
FEATURE_FORMAT = 1
MAX_WORKERS = 16  # past this, decode outruns any one accelerator's forward pass
_FORWARDS = {"images": 0}  # images this process ran the frozen backbone on
_PLACED: dict[str, str | None] = {"last": None}  # see extraction_placement


def forwarded_images() -> int:
    """Images this process has run the frozen backbone on (its own share under DDP)."""
    return _FORWARDS["images"]


def job_cpus() -> int:
    """CPUs of this job: ``SLURM_CPUS_PER_TASK`` (per task, i.e. per rank under srun), else the
    CPUs this process may run on."""
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "")
    if slurm.isdigit() and int(slurm) > 0:
        return int(slurm)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def extraction_workers(given: int | None, opts: EngineOptions) -> int:
    """Loader workers of a feature extraction: ``given``, else chosen from the job's CPUs."""
    if given is not None:
        return given
    if accelerator_name(opts.accelerator) != "gpu":
        return 0
    cpus = job_cpus()
    if "SLURM_CPUS_PER_TASK" not in os.environ and isinstance(opts.devices, int):
        cpus //= max(1, opts.devices)  # one process per device shares this node's CPUs
    return max(1, min(MAX_WORKERS, cpus - 1))  # one CPU stays with the process feeding the GPU


def loader_options(workers: int, opts: EngineOptions) -> dict:
    """Pinned memory on a GPU, workers kept alive across the loader's passes."""
    return {"pin_memory": accelerator_name(opts.accelerator) == "gpu",
            "persistent_workers": workers > 0}


class FeatureExtractor(L.LightningModule):
    """Runs a frozen backbone and returns pooled features with their labels."""

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)

    def predict_step(self, batch, batch_idx):
        images, labels = batch
        _FORWARDS["images"] += len(images)
        return self.backbone.pooled(images).float(), torch.as_tensor(labels).long()


class ShardedFeatureExtractor(ShardedModule, FeatureExtractor):
    """``FeatureExtractor`` with its encoder FSDP2-sharded (``configure_model``): each rank
    holds its shard and gathers one block at a time; the forward goes through the root."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone.pooled(images)

    def predict_step(self, batch, batch_idx):
        images, labels = batch
        _FORWARDS["images"] += len(images)
        return self(images).float(), torch.as_tensor(labels).long()


def sharded_extractor(backbone: Backbone) -> ShardedFeatureExtractor:
    """The ``ShardedFeatureExtractor`` of ``backbone``, one per backbone: once sharded under
    one root, an encoder cannot be sharded under another (several splits reuse one backbone).
    """
    made = backbone.__dict__.get("_rsbench_extractor")
    if made is None:
        made = ShardedFeatureExtractor(backbone)
        # A plain attribute, not a submodule (nn.Module.__setattr__ would make a cycle of
        # children); the reference cycle is the garbage collector's.
        object.__setattr__(backbone, "_rsbench_extractor", made)
    return made


def sharded_placement(backbone: Backbone, workload: Any, opts: EngineOptions) -> bool:
    """Whether this pass shards its encoder (``--strategy fsdp``): when the plan says a whole
    one does not fit one device (``rsbench.plan.frozen_placement``), or when an earlier pass
    sharded it already. A lazy encoder (read from its file only now) placed whole is filled
    whole here. The line is kept for ``extraction_placement``."""
    from rsbench.checkpoints.sharded import filled, pending_fill
    from rsbench.engine.trainer import world_size
    from rsbench.plan import frozen_placement, planned_device_memory

    per_node = max(1, world_size(opts) // max(1, int(opts.num_nodes)))
    placement = frozen_placement(workload, *planned_device_memory(
        accelerator_name(opts.accelerator), per_node))
    again = "_rsbench_extractor" in backbone.__dict__  # sharded by an earlier pass
    lazy = not again and pending_fill(backbone) is not None
    held = ("encoder sharded by an earlier pass" if again
            else f"lazy encoder, filled {'shard by shard' if placement.sharded else 'whole'}"
            if lazy else None)
    _PLACED["last"] = placement.line() + (f"; {held}" if held else "")
    from lightning.pytorch.utilities.rank_zero import rank_zero_info

    rank_zero_info(f"rsbench: frozen encoder {_PLACED['last']}")
    if lazy and not placement.sharded:
        filled(backbone, "cpu")  # every rank reads all of it; the trainer moves it to its device
    return placement.sharded or again


def extraction_placement() -> str | None:
    """How this process's last ``--strategy fsdp`` extraction placed its encoder (one line:
    ``sharded: ...`` / ``replicated: ...``), or None when none ran."""
    return _PLACED["last"]


def extracted_features(
    backbone: Backbone, dataset: Dataset, opts: EngineOptions, batch_size: int = 64,
    workers: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features [N, D] float32, labels [N])`` in dataset order, on every rank.

    Under ``--devices N --strategy ddp`` each rank extracts every N-th batch and the results
    are gathered (``predict_in_order``), so they equal the one-process ones bit for bit.
    Under ``--strategy fsdp`` the encoder is FSDP2-sharded over the ranks
    (``ShardedFeatureExtractor``; a lazy backbone is filled shard by shard there), the batches
    dealt the same way, when the plan says a whole encoder does not fit one device
    (``sharded_placement``); otherwise a frozen pass runs data parallel (a lazy backbone
    filled whole first).
    ``workers``: loader processes (None: ``opts.num_workers``; see ``extraction_workers``).
    """
    from rsbench import progress

    progress.stage(f"features of {len(cast(Sized, dataset))} images")
    if len(cast(Sized, dataset)) == 0:  # e.g. val with val_fraction 0: Lightning would return nothing
        return torch.empty(0, backbone.embed_dim), torch.empty(0, dtype=torch.long)
    workers = opts.num_workers if workers is None else workers
    _PLACED["last"] = None
    module: FeatureExtractor = FeatureExtractor(backbone)
    workload = None  # no workload: make_trainer runs --strategy fsdp as DDP
    if fills_sharded(opts):
        from rsbench.backbones.memory import module_workload

        size = int(backbone.input_spec.img_size)
        workload = module_workload(backbone, batch_size, size, opts.precision, training=False)
        if sharded_placement(backbone, workload, opts):
            module = sharded_extractor(backbone)
        else:
            workload = None
    trainer = make_trainer(opts, workload=workload, use_distributed_sampler=False)
    feats, labels = predict_in_order(trainer, module, cast(Any, dataset), batch_size,
                                     workers, loader_options=loader_options(workers, opts))
    return feats, labels


class FeatureCache:
    """Content-addressed store of extracted features under ``root/features/``."""

    def __init__(self, root: Path, workers: int | None = None) -> None:
        self.dir = Path(root) / "features"
        self.workers = workers  # extraction loader workers; None: chosen from the job's CPUs

    @staticmethod
    def key(parts: dict) -> str:
        """Cache key: hash of everything that determines the features."""
        return spec_hash({"format": FEATURE_FORMAT, **parts})[:24]

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.pt"

    def load(self, key: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]] | None:
        """Cached splits, or None when absent or unreadable (then they are recomputed)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a torn or foreign file is a cache miss, not a failure
            return None
        return {name: (x, y) for name, (x, y) in blob["splits"].items()}

    def save(self, key: str, splits: dict[str, tuple[torch.Tensor, torch.Tensor]], meta: dict) -> Path:
        """Write atomically: a reader never sees a half-written cache file."""
        from rsbench.engine.feature_store import atomic_torch_save

        return atomic_torch_save({"splits": splits, "meta": meta}, self.path(key))
