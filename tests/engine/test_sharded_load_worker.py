"""Run by test_sharded_load.py as ``python test_sharded_load_worker.py OUT PORT``.

Holds no tests itself. Two gloo ranks on the CPU each load ``OUT/w.<kind>`` with
``load_sharded`` for every kind of file in ``OUT``; rank 0 writes the gathered full tensors,
how each file was read and the local shard row counts of both ranks to ``OUT/sharded.pt``;
then the safetensors file again over 2-D (replicas x shards) meshes: the one ``shard_mesh``
makes for ``HYBRID_SHARD`` with a shard group of 1 (2 x 1: every rank holds all rows) and a
1 x 2 mesh (sharded along its second dimension), under ``meshes``, and at 48 px, where the
position embedding is resampled, under ``resampled``, and the Hugging Face checkpoints
``OUT/hf`` (a ``save_pretrained`` folder) and ``OUT/hf.pth`` (its state dict, ``torch.save``d),
whose query, key and value the load fuses into one qkv, under ``hf``, in the same file.
"""

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "checkpoints"))
from ckpt_helpers import ARCH, HF_OVERRIDES, OVERRIDES, SPEC  # noqa: E402

KINDS = ("safetensors", "torch-zip", "torch-legacy")


def rank_main(rank: int, out: str, port: int) -> None:
    from rsbench.backbones import InputSpec
    from rsbench.checkpoints.sharded import load_sharded

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        result = {kind: gathered(load_sharded(Path(out) / f"w.{kind}", ARCH, SPEC, "cls",
                                              **OVERRIDES)) for kind in KINDS}
        result["hf"] = {name: gathered(load_sharded(Path(out) / name, ARCH, SPEC, "cls",
                                                    **OVERRIDES, **HF_OVERRIDES))
                        for name in ("hf", "hf.pth")}
        result["meshes"] = meshes(Path(out) / "w.safetensors")
        # At 48 px the 4 x 4 position grid of the 32 px checkpoint is resampled to 6 x 6.
        wider = load_sharded(Path(out) / "w.safetensors", ARCH, InputSpec(img_size=48), "cls",
                             **OVERRIDES)
        result["resampled"] = {"how": wider.sharded_read,
                               "state": {k: v.full_tensor()
                                         for k, v in wider.model.state_dict().items()},
                               "report": wider.load_report.to_dict()}
        if rank == 0:
            torch.save(result, Path(out) / "sharded.pt")
        # Both ranks leave their last collective before either tears its groups down (the
        # 2-D meshes add sub-groups; a rank exiting while its peer still used them aborted).
        dist.barrier()
    finally:
        dist.destroy_process_group()


def gathered(backbone) -> dict:
    """A sharded backbone's full tensors, how it was read, both ranks' local rows, its report."""
    state = backbone.model.state_dict()
    every = [None, None]
    dist.all_gather_object(every, {k: v.to_local().shape[0] for k, v in state.items()})
    return {"state": {k: v.full_tensor() for k, v in state.items()}, "how": backbone.sharded_read,
            "rows": every, "types": sorted({type(v).__name__ for v in state.values()}),
            "report": backbone.load_report.to_dict()}


def meshes(path: Path) -> dict:
    """``{name: (mesh shape, full state, both ranks' local rows)}`` of sharded loads of ``path``."""
    from types import SimpleNamespace

    from torch.distributed.device_mesh import init_device_mesh

    from rsbench.checkpoints.sharded import load_sharded
    from rsbench.engine import EngineOptions
    from rsbench.engine.sharding import plan_for, shard_mesh

    strategy = SimpleNamespace(device_mesh={"data_parallel": init_device_mesh("cpu", (2,))},
                               root_device=torch.device("cpu"))
    hybrid = plan_for(EngineOptions(strategy="fsdp", devices=1, num_nodes=2,
                                    sharding="HYBRID_SHARD"), "cpu", None)
    made = {"hybrid_group_1": shard_mesh(strategy, hybrid),
            "one_by_two": init_device_mesh("cpu", (1, 2), mesh_dim_names=("replicate", "shard"))}
    got = {}
    for name, mesh in made.items():
        state = load_sharded(path, ARCH, SPEC, "cls", mesh=mesh, **OVERRIDES).model.state_dict()
        every = [None, None]
        dist.all_gather_object(every, {k: v.to_local().shape[0] for k, v in state.items()})
        got[name] = (tuple(mesh.shape), {k: v.full_tensor() for k, v in state.items()}, every)
    return got


if __name__ == "__main__":
    import torch.multiprocessing as mp

    mp.spawn(rank_main, args=(sys.argv[1], int(sys.argv[2])), nprocs=2)
