"""Run by test_sharded_finetune.py as ``python test_sharded_finetune_worker.py OUT MODE``.

Holds no tests itself. Two CPU processes under ``--strategy fsdp`` (FSDP2, Lightning's
``ModelParallelStrategy``) fine-tune a segmentation model through the engine's run loop
(``TrainedProtocol.run``), the encoder coming from a real ``LoadedModel`` over the card
``OUT/card.yaml`` (a safetensors file):

- ``MODE=sharded``: the loop's ``make_backbone(sharded=True)`` as ``rsbench run`` builds it, so
  the encoder is lazy until ``configure_model`` fills each rank's shards; the full loader
  (``load_backbone``) is replaced by one that fails, so any whole read ends the run;
- ``MODE=full``: the same run with the encoder read whole on every rank, then sharded.

Every rank writes ``OUT/rank{R}-{MODE}.pt``: whether the encoder was on the meta device when
the module was built, the bytes it read from the file through the row reader, the elements of
its local encoder shards after the fill, the gathered full final weights and the metrics.
"""

import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "segmentation"))

from test_dense_fsdp_worker import SEG  # noqa: E402


class Counted:
    """Bytes handed out by the safetensors row reader in this process."""

    bytes = 0


def counting_reader():
    """Patch the row reader so every row read is counted."""
    from rsbench.checkpoints import rows

    real = rows.safetensors_rows

    def counting(path):
        read = real(path)

        def counted(key, start, stop):
            tensor = read(key, start, stop)
            Counted.bytes += tensor.numel() * tensor.element_size()
            return tensor

        return counted

    rows.safetensors_rows = counting


def no_full_load():
    """Make a whole-encoder read on this rank an error."""
    import rsbench.checkpoints as checkpoints

    def refused(*args, **kwargs):
        raise AssertionError("the full loader ran under a sharded load")

    checkpoints.load_backbone = refused


def protocol():
    from rsbench.protocols.segmentation import SegmentationProtocol

    class Captured(SegmentationProtocol):
        def module(self, ctx, hp, data, backbone, schedule):
            self.meta_at_build = all(p.is_meta for p in backbone.model.parameters())
            self.backbone = backbone
            return super().module(ctx, hp, data, backbone, schedule)

        def resolved(self, module, hp, ctx):
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                get_model_state_dict,
            )
            from torch.distributed.tensor import DTensor

            params = list(self.backbone.model.parameters())
            self.local = sum(p.to_local().numel() if isinstance(p, DTensor) else p.numel()
                             for p in params)
            self.total = sum(p.numel() for p in params)
            self.read = getattr(self.backbone, "sharded_read", None)
            self.state = get_model_state_dict(
                module, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
            return super().resolved(module, hp, ctx)

    return Captured("finetune")


def main(out: Path, mode: str) -> None:
    from seg_helpers import fake_seg_data
    from tiny_models import protocol_context

    from rsbench.config import load_card
    from rsbench.engine import EngineOptions
    from rsbench.loaded_model import LoadedModel
    from rsbench.runner import RunOptions
    from rsbench.tasks import segmentation as plugin

    counting_reader()
    opts = EngineOptions(accelerator="cpu", devices=2, strategy="fsdp", precision="32-true",
                         progress=False, root_dir=str(out))
    if mode == "sharded":
        no_full_load()  # from here on: the check included
    model = LoadedModel(load_card(out / "card.yaml"), RunOptions(out=out, engine=opts))
    model.check(32)  # as run_context does, before any data

    def make_backbone(sharded=False, **extra):
        return model.backbone(32, None, sharded and mode == "sharded", **extra)

    ctx = protocol_context(out, "fake_segmentation", {"name": "finetune", **SEG}, [], 32,
                           lambda train_transform=None: fake_seg_data(
                               size=32, n_train=16, n_test=5, train_transform=train_transform),
                           plugin)
    ctx.opts, ctx.make_backbone = opts, make_backbone
    run = protocol()
    result = run.run(ctx)
    import torch.distributed as dist

    torch.save({"meta_at_build": run.meta_at_build, "bytes_read": Counted.bytes,
                "local": run.local, "total": run.total, "how": run.read, "state": run.state,
                "metrics": result.metrics, "world": dist.get_world_size(),
                "report": model.report(32)},
               out / f"rank{dist.get_rank()}-{mode}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
