"""Run by test_sharded_features.py as ``python test_sharded_features_worker.py OUT``.

Holds no tests itself. Lightning's subprocess launcher re-runs this script for rank 1; every
rank extracts features under ``--strategy fsdp`` on 2 CPU processes for each ``CASES`` entry
from a whole backbone twice: planned for 64 GiB devices (the encoder fits one: replicated,
data parallel) and for 1 GiB devices (it does not: FSDP2-sharded, ``ShardedFeatureExtractor``);
then from lazy backbones over ``OUT/w.safetensors``: planned for 64 GiB (filled whole, data
parallel), and for 1 GiB (filled shard by shard in ``configure_model``) on two datasets in
turn, as the splits of one cache entry are. It writes what it got, the placement lines, the
parameter types of the backbones afterwards and its local share of the lazy encoders to
``OUT/rank{r}.pt``.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_engine_features_worker import CASES, backbone, dataset  # noqa: E402

from rsbench.engine import EngineOptions  # noqa: E402
from rsbench.engine.features import extracted_features, extraction_placement  # noqa: E402
from rsbench.plan import plan_device_memory  # noqa: E402

GIB = 1024**3


def types(module: torch.nn.Module) -> list[str]:
    return sorted({type(p).__name__ for p in module.parameters()})


def branch(device_gib: float, opts: EngineOptions) -> dict:
    """Every case from a whole backbone, planned for devices of ``device_gib``."""
    plan_device_memory(device_gib * GIB, "--device-memory")
    results, placed, kinds = [], [], []
    for n, b in CASES:
        whole = backbone()
        results.append(extracted_features(whole, dataset(n), opts, batch_size=b))
        placed.append(extraction_placement())
        kinds.append(types(whole.model))
    return {"results": results, "placed": placed, "types": kinds}


if __name__ == "__main__":
    from torch.distributed.tensor import DTensor

    from rsbench.backbones import InputSpec
    from rsbench.checkpoints.sharded import lazy_backbone

    out = Path(sys.argv[1])
    opts = EngineOptions(accelerator="cpu", devices=2, strategy="fsdp", precision="32-true",
                         progress=False, root_dir=str(out))
    got = {"replicated": branch(64, opts), "sharded": branch(1, opts)}
    import torch.distributed as dist

    def lazy():
        return lazy_backbone(out / "w.safetensors", "vit_tiny_patch16", InputSpec(img_size=32),
                             depth=2, patch_size=8)

    def local(backbone) -> int:
        return sum(p.to_local().numel() if isinstance(p, DTensor) else p.numel()
                   for p in backbone.model.parameters())

    plan_device_memory(64 * GIB, "--device-memory")  # fits: read whole, data parallel
    whole = lazy()
    whole_features = extracted_features(whole, dataset(7), opts, batch_size=3)
    whole_placed = extraction_placement()
    plan_device_memory(1 * GIB, "--device-memory")  # does not fit: read shard by shard
    sharded = lazy()
    from_file = extracted_features(sharded, dataset(7), opts, batch_size=3)
    lazy_placed = extraction_placement()
    plan_device_memory(64 * GIB, "--device-memory")  # sharded once, it stays so
    again = extracted_features(sharded, dataset(3), opts, batch_size=4)  # a second split
    again_placed = extraction_placement()
    torch.save({**got, "from_file": from_file, "again": again, "lazy_placed": lazy_placed,
                "again_placed": again_placed, "whole": whole_features,
                "whole_placed": whole_placed, "whole_types": types(whole.model),
                "whole_local": local(whole), "whole_how": whole.sharded_read,
                "world": dist.get_world_size(), "lazy_types": types(sharded.model),
                "local": local(sharded), "how": sharded.sharded_read},
               out / f"rank{dist.get_rank()}.pt")
