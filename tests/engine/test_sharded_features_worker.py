"""Run by test_sharded_features.py as ``python test_sharded_features_worker.py OUT``.

Holds no tests itself. Lightning's subprocess launcher re-runs this script for rank 1; every
rank extracts features under ``--strategy fsdp`` on 2 CPU processes (the encoder FSDP2-sharded,
``ShardedFeatureExtractor``) for each ``CASES`` entry from a whole backbone, and once more from
a lazy backbone over ``OUT/w.safetensors`` (filled shard by shard in ``configure_model``) on
two datasets in turn, as the splits of one cache entry are, and writes what it got, with its local share of the lazy encoder, to ``OUT/rank{r}.pt``.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_engine_features_worker import CASES, backbone, dataset  # noqa: E402

from rsbench.engine import EngineOptions  # noqa: E402
from rsbench.engine.features import extracted_features  # noqa: E402

if __name__ == "__main__":
    from torch.distributed.tensor import DTensor

    from rsbench.backbones import InputSpec
    from rsbench.checkpoints.sharded import lazy_backbone

    out = Path(sys.argv[1])
    opts = EngineOptions(accelerator="cpu", devices=2, strategy="fsdp", precision="32-true",
                         progress=False, root_dir=str(out))
    results = [extracted_features(backbone(), dataset(n), opts, batch_size=b) for n, b in CASES]
    lazy = lazy_backbone(out / "w.safetensors", "vit_tiny_patch16", InputSpec(img_size=32),
                         depth=2, patch_size=8)
    from_file = extracted_features(lazy, dataset(7), opts, batch_size=3)
    again = extracted_features(lazy, dataset(3), opts, batch_size=4)  # a second split, one backbone
    params = list(lazy.model.parameters())
    import torch.distributed as dist

    torch.save({"results": results, "from_file": from_file, "again": again, "world": dist.get_world_size(),
                "types": sorted({type(p).__name__ for p in params}),
                "local": sum(p.to_local().numel() if isinstance(p, DTensor) else p.numel()
                             for p in params),
                "how": lazy.sharded_read},
               out / f"rank{dist.get_rank()}.pt")
