"""Run by test_dense_fsdp.py as ``python test_dense_fsdp_worker.py OUT DEVICES STRATEGY KIND``.

Holds no tests itself. ``KIND`` is ``segmentation`` or ``detection``: the engine's own run loop
(``TrainedProtocol.run``) fine-tunes a tiny ViT with the task type's hooks on in-memory fake
data at a global batch of 4 (4 per process on one process, 2 on two). Augmentation is made
deterministic (no scale jitter, no flip) so that the processes see exactly the images the one
process sees; the engine gives every process count the same global batches. Rank 0 writes the
full (unsharded) final weights, the parameter types and the metrics to
``OUT/result-{DEVICES}-{STRATEGY}-{KIND}.pt``.
"""

import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "segmentation"))
sys.path.insert(0, str(HERE.parent / "detection"))

STEPS = 4
SEG = {"decoder": "linear", "channels": 16, "iterations": STEPS, "batch_size": 4,
       "eval_batch_size": 1, "lr": 1e-3, "warmup_iters": 1, "scale_min": 1.0, "scale_max": 1.0,
       "hflip": 0.0, "slide_stride": 16, "drop_path": 0.0}
# RetinaNet: its losses are per-image means averaged over the batch and it samples nothing at
# random, so two processes' averaged gradients equal one process's up to float summation order
# (Faster R-CNN draws RPN / ROI samples per process, which no process count can reproduce).
DET = {"detector": "retinanet", "channels": 16, "iterations": STEPS, "batch_size": 4,
       "eval_batch_size": 2, "lr": 1e-3, "warmup_iters": 1, "hflip": 0.0, "drop_path": 0.0}


def protocol(kind: str):
    if kind == "segmentation":
        from rsbench.protocols.segmentation import SegmentationProtocol as Base
    else:
        from rsbench.protocols.detection import DetectionProtocol as Base

    class Captured(Base):
        """Keeps the module's initial and trained full weights (the latter gathered on every
        rank: a collective)."""

        def module(self, ctx, hp, data, backbone, schedule):
            module = super().module(ctx, hp, data, backbone, schedule)
            self.init = {k: v.detach().clone() for k, v in module.state_dict().items()}
            return module

        def resolved(self, module, hp, ctx):
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                get_model_state_dict,
            )

            self.state = get_model_state_dict(
                module, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
            self.param_types = sorted({type(p).__name__ for p in module.parameters()})
            return super().resolved(module, hp, ctx)

    return Captured("finetune")


def main(out: Path, devices: int, strategy: str, kind: str) -> None:
    from det_helpers import fake_det_data
    from seg_helpers import fake_seg_data
    from tiny_models import protocol_context

    from rsbench.engine import EngineOptions

    if kind == "segmentation":
        from rsbench.tasks import segmentation as plugin

        size, overrides = 32, SEG
        make_data = lambda train_transform=None: fake_seg_data(  # noqa: E731
            size=32, n_train=16, n_test=5, train_transform=train_transform)
    else:
        from rsbench.tasks import detection as plugin

        size, overrides = 64, DET
        make_data = lambda train_transform=None: fake_det_data(  # noqa: E731
            size=64, n_train=16, n_test=5, train_transform=train_transform)
    ctx = protocol_context(out, f"fake_{kind}", {"name": "finetune", **overrides}, [], size,
                           make_data, plugin)
    ctx.opts = EngineOptions(accelerator="cpu", devices=devices, strategy=strategy,
                             precision="32-true", progress=False, root_dir=str(out))
    run = protocol(kind)
    result = run.run(ctx)
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:
        world = dist.get_world_size() if dist.is_initialized() else 1
        torch.save({"state": run.state, "init": run.init, "param_types": run.param_types, "world": world,
                    "metrics": result.metrics, "hparams": result.hparams},
                   out / f"result-{devices}-{strategy}-{kind}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
