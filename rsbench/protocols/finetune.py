"""Full fine-tuning for classification, following MAE ``main_finetune.py`` as RVSA and SatMAE
use it for remote sensing: AdamW, lr = blr x batch / 256 (blr 1e-3), layer-wise lr decay 0.75,
5 warm-up epochs then cosine, weight decay 0.05, drop path 0.1, RandAugment m9, label smoothing
0.1, mixup 0.8 / cutmix 1.0, random erasing 0.25.

Two departures, both stated in every record: RandAugment is torchvision's ``RandAugment(2, 9)``
on tensors rather than timm's PIL ``rand-m9-mstd0.5-inc1``, and evaluation uses the dataset's
resize to ``image_size`` (no 0.875 centre crop). The model after the last epoch is scored, as in
MAE; validation is not used for early stopping.

``augment`` names the image augmentation: ``rgb_randaug`` (the recipe above) or ``geometric``,
random resized crop and flip only, one transform applied alike to every band, as SatMAE
(``util/datasets.py``: ``SentinelIndividualImageDataset.build_transform`` and the
``SatelliteDataset`` one its ``EuroSat`` inherits) and SSL4EO-S12 fine-tune Sentinel-2.
RandAugment's colour operations are defined on RGB images (torchvision's raise on other channel
counts), so ``rgb_randaug`` on data of other than 3 bands is refused before any data or model
is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lightning as L
import torch
from torch import nn

from rsbench.config import SpecError
from rsbench.engine.protocol import (
    ProtocolContext,
    Schedule,
    ShardedModule,
    TrainedProtocol,
    finite_loss,
)
from rsbench.heads import finetune_head
from rsbench.protocols.base import warmup_cosine
from rsbench.protocols.lr_decay import adamw_stepwise, encoder_and_head_groups
from rsbench.protocols.recipes import NONE, NUMBER, recipe, recipe_sentence

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone
    from rsbench.config import TaskSpec

RECIPE = recipe_sentence("classification", "finetune")  # tasks/classification/_protocols/finetune.yaml
#: What every fine-tune of an encoder with a linear head declares (optimiser, schedule, crop).
ENCODER_FINETUNE_SCHEMA = {
    "epochs": (int,), "batch_size": (int,), "blr": NUMBER, "warmup_epochs": (int,),
    "weight_decay": NUMBER, "layer_decay": NUMBER, "drop_path": NUMBER,
    "augment": (str,), "min_crop_scale": NUMBER, "hflip": NUMBER,
}
SCHEMA = {
    **ENCODER_FINETUNE_SCHEMA, "label_smoothing": NUMBER, "mixup": NUMBER, "cutmix": NUMBER,
    "randaug_magnitude": NUMBER, "randaug_ops": (int,), "reprob": NUMBER,
    "search": (dict, NONE),  # optuna search of blr/weight_decay on val: rsbench/protocols/search.py
}
DEFAULTS = recipe("classification", "finetune")  # tasks/classification/_protocols/finetune.yaml
#: ``augment`` values: MAE's RGB recipe, or crop and flip alike on every band (any band count).
AUGMENTS = ("rgb_randaug", "geometric")


def checked_augment(hp: dict, task: TaskSpec, allowed: tuple[str, ...] = AUGMENTS) -> dict:
    """``hp`` once ``augment`` is one of ``allowed`` and can run on the task's bands.

    Raises:
        SpecError: another value, or ``rgb_randaug`` on data of other than 3 bands.
    """
    where, augment = task.path or task.task, hp["augment"]
    if augment not in allowed:
        raise SpecError(f"{where}: protocol.augment is {augment!r}; expected "
                        f"{' or '.join(allowed)}")
    bands = tuple(task.dataset.bands)
    if augment == "rgb_randaug" and len(bands) != 3:
        raise SpecError(f"{where}: protocol.augment is 'rgb_randaug' but the data has "
                        f"{len(bands)} bands; RandAugment is defined on 3-band RGB images: set "
                        "protocol.augment: geometric (crop and flip alike on every band)")
    return hp


def geometric_steps(image_size: int, hp: dict) -> list:
    """Random resized crop (scale ``min_crop_scale``..1) and horizontal flip: one random
    geometry per image, applied alike to all its bands, any band count."""
    from torchvision.transforms import v2

    return [v2.RandomResizedCrop(image_size, scale=(hp["min_crop_scale"], 1.0), antialias=True),
            v2.RandomHorizontalFlip(p=hp["hflip"])]


def train_transform(image_size: int, hp: dict):
    """Crop and flip, RandAugment (``augment: rgb_randaug``) and random erasing on [0, 1]
    float tensors."""
    from torchvision.transforms import v2

    steps = geometric_steps(image_size, hp)
    if hp["augment"] == "rgb_randaug" and hp["randaug_ops"] > 0:
        # RandAugment's colour ops are defined on uint8; round-trip so they behave as published.
        steps += [v2.ToDtype(torch.uint8, scale=True),
                  v2.RandAugment(num_ops=hp["randaug_ops"], magnitude=hp["randaug_magnitude"]),
                  v2.ToDtype(torch.float32, scale=True)]
    if hp["reprob"] > 0:
        steps.append(v2.RandomErasing(p=hp["reprob"], value=0))
    return v2.Compose(steps)


class EncoderFinetuner(ShardedModule, L.LightningModule):
    """Backbone + linear head trained end to end with MAE's optimiser; subclasses say the loss
    (:meth:`loss`) and what a prediction is (``predict_step``)."""

    def __init__(self, backbone: Backbone, num_classes: int, hp: dict, total_steps: int,
                 lr: float) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = finetune_head(backbone.embed_dim, num_classes)
        self.hp, self.total_steps, self.lr = hp, total_steps, lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.pooled(x))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The training loss of one batch."""
        raise NotImplementedError

    def training_step(self, batch, batch_idx):
        x, y = batch
        return finite_loss(self.loss(x, y), self.global_step)

    def configure_optimizers(self):
        groups = encoder_and_head_groups(self.backbone.model, list(self.head.parameters()),
                                         self.hp["weight_decay"], self.hp["layer_decay"])
        warmup = self.total_steps * self.hp["warmup_epochs"] // max(1, self.hp["epochs"])
        return adamw_stepwise(groups, self.lr, lambda s: warmup_cosine(s, warmup, self.total_steps))


class Finetuner(EncoderFinetuner):
    """Single-label classifier: cross-entropy with label smoothing, or mixup/cutmix targets."""

    def __init__(self, backbone: Backbone, num_classes: int, hp: dict, total_steps: int,
                 lr: float) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, lr)
        self.mixup = None
        if hp["mixup"] > 0 or hp["cutmix"] > 0:
            from timm.data import Mixup

            self.mixup = Mixup(mixup_alpha=hp["mixup"], cutmix_alpha=hp["cutmix"],
                               label_smoothing=hp["label_smoothing"], num_classes=num_classes)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.mixup is not None:
            x, soft = self.mixup(x, y)
            return torch.sum(-soft * nn.functional.log_softmax(self(x), dim=-1), dim=-1).mean()
        return nn.functional.cross_entropy(self(x), y, label_smoothing=self.hp["label_smoothing"])

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x).argmax(dim=1), torch.as_tensor(y)


def learning_rate(hp: dict) -> float:
    """MAE's linear scaling rule on the global batch: ``lr = blr x batch_size / 256``."""
    return hp["blr"] * hp["batch_size"] / 256


class ClassificationFinetune(TrainedProtocol):
    """Hooks for classification fine-tuning; the run loop is the engine's."""

    defaults, recipe, schema = DEFAULTS, RECIPE, SCHEMA

    def validated(self, hp: dict, task: TaskSpec) -> dict:
        return checked_augment(hp, task)

    def checked(self, hp: dict, ctx: ProtocolContext) -> dict:
        if hp["search"] is None:
            return hp
        from rsbench.protocols.search import searched_finetune  # trials on train/val

        return searched_finetune(ctx, hp)[0]

    def train_transform(self, ctx: ProtocolContext, hp: dict):
        return train_transform(ctx.task.dataset.image_size, hp)

    def module(self, ctx, hp, data, backbone, schedule: Schedule) -> Finetuner:
        return Finetuner(backbone, len(data.classes), hp, schedule.total_steps, learning_rate(hp))

    def scores(self, ctx, data, outputs) -> dict:
        preds, target = outputs
        return ctx.plugin.scores(preds, target, len(data.classes))

    def resolved(self, module, hp, ctx) -> dict:
        return {**hp, "lr": module.lr}


#: The registered protocol (``rsbench.tasks.classification.PROTOCOLS``).
FINETUNE = ClassificationFinetune()
