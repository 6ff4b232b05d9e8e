"""Run by test_engine_features.py as ``python test_engine_features_worker.py OUT``.

Holds no tests itself; the name keeps it among the engine test files.

Lightning's ``strategy="ddp"`` re-launches this script once per extra rank (its subprocess
launcher), so every rank runs ``extracted_features`` on each ``CASES`` entry and writes what it
got to ``OUT/rank{r}.pt``, with how many tensors Lightning's weight sync broadcast for each;
the last entry is ``CASES[0]`` with rank 1's encoder drawn from another seed.
"""

import sys
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from rsbench.backbones import InputSpec, build_backbone
from rsbench.engine import EngineOptions
from rsbench.engine.features import extracted_features


def dataset(n: int) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.rand(n, 3, 32, 32, generator=g), torch.arange(n) % 3)


def backbone(seed: int = 0):
    torch.manual_seed(seed)
    return build_backbone("vit_tiny_patch16", InputSpec(img_size=32), depth=2, patch_size=8)


# (samples, batch size): 7 in batches of 3 gives ranks 2 and 1 batches (4 and 3 samples);
# 3 in one batch of 4 leaves rank 1 without a batch of its own.
CASES = [(7, 3), (3, 4)]

if __name__ == "__main__":
    out = Path(sys.argv[1])
    import os

    import torch.distributed.utils as dist_utils

    synced: list[int] = []
    sync = dist_utils._sync_params_and_buffers

    def counted(group, states, *args, **kwargs):
        synced.append(len(states))
        return sync(group, states, *args, **kwargs)

    dist_utils._sync_params_and_buffers = counted  # what Lightning's weight sync broadcasts
    opts = EngineOptions(accelerator="cpu", devices=2, strategy="ddp", progress=False, root_dir=str(out))
    results = [extracted_features(backbone(), dataset(n), opts, batch_size=b) for n, b in CASES]
    other = int(os.environ.get("LOCAL_RANK", "0"))  # rank 1 draws another encoder
    results.append(extracted_features(backbone(other), dataset(CASES[0][0]), opts, batch_size=CASES[0][1]))
    import torch.distributed as dist

    rank = dist.get_rank() if dist.is_initialized() else 0
    torch.save({"results": results, "world": dist.get_world_size(), "synced": synced},
               out / f"rank{rank}.pt")
