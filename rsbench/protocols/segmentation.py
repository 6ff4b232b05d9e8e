"""What the segmentation protocols share: augmentation, the Lightning module, the run.

Training runs by iterations (``max_steps``) on random crops of ``dataset.image_size`` with
mmseg's scale jitter (the image rescaled by a factor drawn from [0.5, 2.0] of its native size,
which equals mmseg's ``img_scale`` in the RVSA Potsdam / LoveDA / iSAID configs), a random crop
(padded with 0 / ignore when smaller) and a horizontal flip. Two stated departures from mmseg:
no ``cat_max_ratio`` crop re-draw and no ``PhotoMetricDistortion``. The loss is pixel-wise
cross-entropy ignoring ``ignore_index``; no auxiliary FCN head. ``batch_size`` is the global
batch: with N processes each takes ``batch_size / N``, so the recipe's 8 holds on any GPU count.
The schedule is linear warm-up then poly (power 1) to zero, as in mmseg's ``poly`` policy. The
model after the last iteration is scored on test with sliding-window inference; validation is
not used for model selection.

Reproducibility: seeds fix initialisation, data order and augmentation, and runs on CPU are
bit-identical; on CUDA the backward passes of bilinear upsampling, adaptive average pooling and
pixel-wise NLL loss have no deterministic kernels, so the trainer runs with
``deterministic="warn"`` and GPU runs of the same seed may differ in the last digits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lightning as L
import torch
from torch.nn import functional as F

from rsbench.backbones.pyramid import level_channels
from rsbench.engine.protocol import (
    ProtocolContext,
    Schedule,
    ShardedModule,
    TrainedProtocol,
    finite_loss,
)
from rsbench.engine.sliding import sliding_logits
from rsbench.heads.upernet import SegmentationModel, segmentation_head
from rsbench.protocols.base import warmup_poly
from rsbench.protocols.lr_decay import adamw_stepwise, encoder_and_head_groups
from rsbench.protocols.recipes import NONE, NUMBER, named_recipe
from rsbench.tasks.segmentation import image_confusions, scores_from_confusion

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone

COMMON_SCHEMA = {
    "decoder": (str,), "channels": (int,), "iterations": (int,), "batch_size": (int,),
    "eval_batch_size": (int,), "lr": NUMBER, "weight_decay": NUMBER, "warmup_iters": (int,),
    "poly_power": NUMBER, "scale_min": NUMBER, "scale_max": NUMBER, "hflip": NUMBER,
    "slide_stride": (int, NONE),  # None: 2/3 of the crop (341 for 512, as mmseg's RVSA configs)
}


class JointTrainTransform:
    """Scale jitter, random crop to ``crop`` and flip applied to image and mask together."""

    def __init__(self, crop: int, scale_range: tuple[float, float] = (0.5, 2.0),
                 hflip: float = 0.5, ignore_index: int = 255) -> None:
        self.crop, self.scale_range, self.hflip, self.ignore_index = crop, scale_range, hflip, ignore_index

    def __call__(self, image: torch.Tensor, mask: torch.Tensor):
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as TF

        mask = torch.as_tensor(mask).as_subclass(torch.Tensor)
        lo, hi = self.scale_range
        s = lo + (hi - lo) * float(torch.rand(()))
        h, w = image.shape[-2:]
        size = [max(1, round(h * s)), max(1, round(w * s))]
        if size != [h, w]:
            image = TF.resize(image, size, antialias=True)
            mask = TF.resize(mask[None], size, interpolation=InterpolationMode.NEAREST)[0]
        ph, pw = max(self.crop - size[0], 0), max(self.crop - size[1], 0)
        if ph or pw:
            image = F.pad(image, (0, pw, 0, ph), value=0.0)
            mask = F.pad(mask, (0, pw, 0, ph), value=self.ignore_index)
        h, w = image.shape[-2:]
        y = int(torch.randint(0, h - self.crop + 1, ()))
        x = int(torch.randint(0, w - self.crop + 1, ()))
        image, mask = image[:, y:y + self.crop, x:x + self.crop], mask[y:y + self.crop, x:x + self.crop]
        if float(torch.rand(())) < self.hflip:
            image, mask = image.flip(-1), mask.flip(-1)
        return image.contiguous(), mask.contiguous()


class SegmentationModule(ShardedModule, L.LightningModule):
    """Trains a ``SegmentationModel`` by iterations; ``predict_step`` returns each test image's
    confusion matrix (sliding-window logits through ``self``, so FSDP sees every forward).

    ``layer_decay`` None means a frozen encoder (only decoder parameters are optimised).
    """

    def __init__(self, model: SegmentationModel, num_classes: int, hp: dict, crop: int,
                 stride: int, ignore_index: int = 255, layer_decay: float | None = None) -> None:
        super().__init__()
        self.model, self.hp, self.num_classes = model, hp, num_classes
        self.crop, self.stride, self.ignore_index, self.layer_decay = crop, stride, ignore_index, layer_decay

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        if bool((y != self.ignore_index).any()):
            loss = F.cross_entropy(logits.float(), y, ignore_index=self.ignore_index)
        else:  # an all-ignore crop: no signal, but keep the graph (and DDP) consistent
            loss = logits.sum() * 0.0
        return finite_loss(loss, self.global_step)

    def predict_step(self, batch, batch_idx):
        x, y = batch
        logits = sliding_logits(self, x, self.crop, self.stride, self.num_classes)
        return image_confusions(logits.argmax(dim=1), y, self.num_classes, self.ignore_index)

    def param_groups(self) -> list[dict]:
        """Decoder groups (lr scale 1), plus MAE layer-decayed encoder groups when fine-tuning."""
        return encoder_and_head_groups(self.model.backbone.model, list(self.model.head.parameters()),
                                       self.hp["weight_decay"], self.layer_decay)

    def configure_optimizers(self):
        hp = self.hp
        return adamw_stepwise(self.param_groups(), hp["lr"], lambda s: warmup_poly(
            s, hp["warmup_iters"], hp["iterations"], hp["poly_power"]))


def slide_stride(hp: dict, crop: int) -> int:
    """The configured stride, or 2/3 of the crop."""
    return int(hp["slide_stride"]) if hp["slide_stride"] else max(1, (2 * crop) // 3)


def build_module(backbone: Backbone, num_classes: int, hp: dict, crop: int, ignore_index: int,
                 frozen: bool, layer_decay: float | None) -> SegmentationModule:
    """Backbone + decoder wrapped for training."""
    head = segmentation_head(hp["decoder"], backbone.embed_dim, num_classes, hp["channels"],
                             level_channels(backbone))
    model = SegmentationModel(backbone, head, frozen=frozen)
    return SegmentationModule(model, num_classes, hp, crop, slide_stride(hp, crop), ignore_index,
                              None if frozen else layer_decay)


class SegmentationProtocol(TrainedProtocol):
    """Hooks for segmentation (frozen encoder or fine-tune); the run loop is the engine's.

    mmseg trains UperNet with SyncBN: Lightning converts BatchNorm across processes (a no-op on
    one). CUDA has no deterministic backward for bilinear upsampling, adaptive average pooling
    or NLL loss, which strict determinism would turn into an error: warn instead (module
    docstring).
    """

    deterministic = "warn"

    def __init__(self, name: str) -> None:
        """``name``: ``frozen`` (decoder only) or ``finetune``; its recipe is
        ``tasks/segmentation/_protocols/<name>.yaml``."""
        named_recipe(self, "segmentation", name, COMMON_SCHEMA)
        self.transform: JointTrainTransform | None = None

    def train_transform(self, ctx: ProtocolContext, hp: dict) -> JointTrainTransform:
        self.transform = JointTrainTransform(ctx.task.dataset.image_size,
                                             (hp["scale_min"], hp["scale_max"]), hp["hflip"])
        return self.transform

    def sync_batchnorm(self, hp: dict) -> bool:
        return True

    def module(self, ctx, hp, data, backbone, schedule: Schedule) -> SegmentationModule:
        ignore = int(getattr(data, "ignore_index", 255))
        if self.transform is not None:
            self.transform.ignore_index = ignore  # pads the mask with the dataset's own value
        return build_module(backbone, len(data.classes), hp, ctx.task.dataset.image_size, ignore,
                            self.frozen, hp.get("layer_decay"))

    def scores(self, ctx, data, outputs) -> dict:
        (confusions,) = outputs
        return scores_from_confusion(confusions.sum(dim=0), data.classes)

    def resolved(self, module, hp, ctx) -> dict:
        return {**hp, "slide_stride": module.stride, "crop_size": ctx.task.dataset.image_size}


#: The registered protocols (``rsbench.tasks.segmentation.PROTOCOLS``).
FROZEN = SegmentationProtocol("frozen")
FINETUNE = SegmentationProtocol("finetune")
