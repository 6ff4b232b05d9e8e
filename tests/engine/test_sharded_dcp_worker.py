"""Run by test_sharded_dcp.py as ``python test_sharded_dcp_worker.py OUT PORT``.

Holds no tests itself. Two gloo ranks on the CPU each load, with ``load_sharded``, the DCP
folders ``OUT/dcp2`` (saved by 2 ranks) and ``OUT/dcp1`` (saved by one process), in fp32 and
in bf16, and ``OUT/dcp2hf`` (a Hugging Face ViT saved by 2 ranks); rank 0 writes to ``OUT/sharded.pt`` the gathered full tensors, how each was read,
the stored bytes each rank read and each rank's dim-0 rows.
"""

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "checkpoints"))
from ckpt_helpers import ARCH, HF_OVERRIDES, OVERRIDES, SPEC  # noqa: E402

LOADS = {"dcp2": None, "dcp1": None, "dcp2-bf16": torch.bfloat16, "dcp2hf": None}


def rank_main(rank: int, out: str, port: int) -> None:
    from rsbench.checkpoints.sharded import load_sharded

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        result = {}
        for name, dtype in LOADS.items():
            folder = Path(out) / name.split("-")[0]
            extra = HF_OVERRIDES if name == "dcp2hf" else {}
            backbone = load_sharded(folder, ARCH, SPEC, "cls", dtype=dtype, **OVERRIDES, **extra)
            state = backbone.model.state_dict()
            mine = {"bytes": backbone.sharded_bytes_read,
                    "rows": {k: v.to_local().shape[0] for k, v in state.items()}}
            every: list = [None, None]
            dist.all_gather_object(every, mine)
            result[name] = {"state": {k: v.full_tensor() for k, v in state.items()},
                            "how": backbone.sharded_read, "ranks": every,
                            "types": sorted({type(v).__name__ for v in state.values()})}
        if rank == 0:
            torch.save(result, Path(out) / "sharded.pt")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    import torch.multiprocessing as mp

    mp.spawn(rank_main, args=(sys.argv[1], int(sys.argv[2])), nprocs=2)
