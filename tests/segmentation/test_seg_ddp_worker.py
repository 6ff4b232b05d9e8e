"""Run by test_seg_ddp.py as ``python test_seg_ddp_worker.py OUT DEVICES``.

Holds no tests itself. Lightning's ``strategy="ddp"`` re-launches this script once per extra
rank; every rank scores the same seeded model on the same 5 test images (an odd count, so a
padding sampler would duplicate one) and writes the confusion matrix it ends with.
"""

import sys
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from rsbench.backbones import InputSpec, build_backbone
from rsbench.engine import EngineOptions, make_trainer
from rsbench.engine.predict import predict_in_order
from rsbench.protocols.segmentation import FROZEN, build_module

NUM_CLASSES = 3


def labelled_images() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(5, 3, 40, 40, generator=g)
    masks = torch.randint(0, NUM_CLASSES, (5, 40, 40), generator=g)
    masks[:, :4] = 255  # some ignored pixels
    return TensorDataset(images, masks)


def scored_confusion(out: Path, devices: int) -> torch.Tensor:
    torch.manual_seed(0)
    backbone = build_backbone("vit_tiny_patch16", InputSpec(img_size=32), depth=2, patch_size=8)
    hp = {**FROZEN.defaults, "decoder": "linear", "slide_stride": 16}
    module = build_module(backbone, NUM_CLASSES, hp, 32, 255, frozen=True, layer_decay=None).eval()
    opts = EngineOptions(accelerator="cpu", devices=devices, strategy="ddp" if devices > 1 else "auto",
                         progress=False, root_dir=str(out))
    trainer = make_trainer(opts)
    (confusions,) = predict_in_order(trainer, module, labelled_images(), 1)
    return confusions.sum(dim=0)


if __name__ == "__main__":
    out, devices = Path(sys.argv[1]), int(sys.argv[2])
    confusion = scored_confusion(out, devices)
    import torch.distributed as dist

    rank = dist.get_rank() if dist.is_initialized() else 0
    torch.save({"confusion": confusion, "world": dist.get_world_size() if dist.is_initialized() else 1},
               out / f"rank{rank}.pt")
