"""Exact distributed prediction: every sample once, results in dataset order on every rank.

Lightning's predict under DDP/FSDP shards with ``DistributedSampler``-style wrappers that pad
the last round (a sample may be predicted twice) and returns each rank only its own outputs.
Here the one-process batches ``0, 1, 2, ...`` are dealt round-robin to the ranks, each rank's
outputs are gathered with their dataset indices on Lightning's process group, and put back in
order. A batch holds exactly the samples it holds in a one-process run, so batch-size
dependent kernels give bit-identical outputs on any number of processes.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

if TYPE_CHECKING:
    from rsbench.data.bundle import SizedDataset


class ShardedBatches(Sampler[list[int]]):
    """Batch sampler: the one-process batches dealt round-robin to ``world_size`` ranks.

    Never pads with real samples. Ranks with fewer batches get decoy batches (the first batch,
    indices encoded as ``-(i + 1)``) so that every rank runs the same number of forward passes:
    Lightning refuses a rank with no batch, and FSDP's all-gathers need every rank in every
    forward. Decoy outputs are dropped by ``predict_in_order``.
    """

    def __init__(self, n: int, batch: int, rank: int = 0, world_size: int = 1) -> None:
        self.n, self.batch, self.rank, self.world_size = n, batch, rank, world_size

    def batches(self) -> list[list[int]]:
        """This rank's batches, decoys included, in the order they are yielded."""
        every = [list(range(i, min(i + self.batch, self.n))) for i in range(0, self.n, self.batch)]
        mine = every[self.rank::self.world_size]
        rounds = -(-len(every) // self.world_size)
        return mine + [[-(i + 1) for i in every[0]]] * (rounds - len(mine))

    def __iter__(self):
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())


class _DecoyAware(Dataset):
    """The dataset, where a decoy index ``-(i + 1)`` loads sample ``i``."""

    def __init__(self, dataset: SizedDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        return self.dataset[i if i >= 0 else -i - 1]


def gathered(obj, world_size: int) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank.

    Ranks may hold different numbers of samples, so this uses ``all_gather_object`` on the
    process group Lightning's strategy set up (gloo on CPU, NCCL/RCCL on GPUs) rather than the
    equal-shape tensor ``all_gather``. Pass CPU tensors.
    """
    import torch.distributed as dist

    if world_size == 1 or not (dist.is_available() and dist.is_initialized()):
        return [obj]
    everyone: list = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, obj)
    return everyone


def _cpu(x):
    return x.detach().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(x)


def predict_in_order(trainer, module, dataset: SizedDataset, batch_size: int, num_workers: int = 0,
                     collate_fn=None, loader_options: dict | None = None) -> tuple | list:
    """Run ``trainer.predict`` over ``dataset``; the outputs in dataset order, on every rank.

    ``module.predict_step`` returns either a tensor or a tuple of tensors with the batch first
    (returned concatenated, as a tuple), or a list with one entry per sample (returned as one
    list over the dataset: detections, whose sizes differ per image). ``loader_options``: more
    ``DataLoader`` arguments (pinned memory, persistent workers), which do not change outputs.
    """
    sampler = ShardedBatches(len(dataset), batch_size, trainer.global_rank, trainer.world_size)
    loader = DataLoader(_DecoyAware(dataset), batch_sampler=sampler, num_workers=num_workers,
                        collate_fn=collate_fn, **(loader_options or {}))
    with warnings.catch_warnings():  # Lightning keeps a custom batch sampler and says so
        warnings.filterwarnings("ignore", message=".*custom batch sampler.*")
        outputs = trainer.predict(module, loader) or []
    local: list[tuple[torch.Tensor, Any]] = []
    for idx, out in zip(sampler.batches(), outputs, strict=True):
        if idx[0] >= 0:  # drop decoys
            if isinstance(out, list):
                local.append((torch.tensor(idx), out))
            else:
                out = out if isinstance(out, tuple) else (out,)
                local.append((torch.tensor(idx), tuple(_cpu(o) for o in out)))
    parts = [p for rank_parts in gathered(local, trainer.world_size) for p in rank_parts]
    if not parts:
        return []
    index = torch.cat([i for i, _ in parts])
    order = torch.argsort(index)
    if not torch.equal(index[order], torch.arange(len(dataset))):
        raise RuntimeError(f"distributed prediction lost or repeated samples: {len(index)} of {len(dataset)}")
    if isinstance(parts[0][1], list):
        flat = [item for _, out in parts for item in out]
        return [flat[i] for i in order.tolist()]
    width = len(parts[0][1])
    return tuple(torch.cat([out[k] for _, out in parts])[order] for k in range(width))
