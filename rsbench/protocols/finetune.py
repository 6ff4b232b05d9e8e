"""Full fine-tuning for classification, following MAE ``main_finetune.py`` as RVSA and SatMAE
use it for remote sensing: AdamW, lr = blr x batch / 256 (blr 1e-3), layer-wise lr decay 0.75,
5 warm-up epochs then cosine, weight decay 0.05, drop path 0.1, RandAugment m9, label smoothing
0.1, mixup 0.8 / cutmix 1.0, random erasing 0.25.

Two departures, both stated in every record: RandAugment is torchvision's ``RandAugment(2, 9)``
on tensors rather than timm's PIL ``rand-m9-mstd0.5-inc1``, and evaluation uses the dataset's
resize to ``image_size`` (no 0.875 centre crop). The model after the last epoch is scored, as in
MAE; validation is not used for early stopping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lightning as L
import torch
from torch import nn

from rsbench.engine.protocol import (
    ProtocolContext,
    ProtocolResult,
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

RECIPE = recipe_sentence("classification", "finetune")  # tasks/classification/_protocols/finetune.yaml
SCHEMA = {
    "epochs": (int,), "batch_size": (int,), "blr": NUMBER, "warmup_epochs": (int,),
    "weight_decay": NUMBER, "layer_decay": NUMBER, "drop_path": NUMBER, "label_smoothing": NUMBER,
    "mixup": NUMBER, "cutmix": NUMBER, "randaug_magnitude": NUMBER, "randaug_ops": (int,),
    "reprob": NUMBER, "min_crop_scale": NUMBER, "hflip": NUMBER,
    "search": (dict, NONE),  # optuna search of blr/weight_decay on val: rsbench/protocols/search.py
}
DEFAULTS = recipe("classification", "finetune")  # tasks/classification/_protocols/finetune.yaml


def train_transform(image_size: int, hp: dict):
    """Random resized crop, flip, RandAugment and random erasing on [0, 1] float tensors."""
    from torchvision.transforms import v2

    steps = [v2.RandomResizedCrop(image_size, scale=(hp["min_crop_scale"], 1.0), antialias=True),
             v2.RandomHorizontalFlip(p=hp["hflip"])]
    if hp["randaug_ops"] > 0:
        # RandAugment's colour ops are defined on uint8; round-trip so they behave as published.
        steps += [v2.ToDtype(torch.uint8, scale=True),
                  v2.RandAugment(num_ops=hp["randaug_ops"], magnitude=hp["randaug_magnitude"]),
                  v2.ToDtype(torch.float32, scale=True)]
    if hp["reprob"] > 0:
        steps.append(v2.RandomErasing(p=hp["reprob"], value=0))
    return v2.Compose(steps)


class Finetuner(ShardedModule, L.LightningModule):
    """Backbone + linear classifier trained end to end."""

    def __init__(self, backbone: Backbone, num_classes: int, hp: dict, total_steps: int,
                 lr: float) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = finetune_head(backbone.embed_dim, num_classes)
        self.hp, self.total_steps, self.lr = hp, total_steps, lr
        self.mixup = None
        if hp["mixup"] > 0 or hp["cutmix"] > 0:
            from timm.data import Mixup

            self.mixup = Mixup(mixup_alpha=hp["mixup"], cutmix_alpha=hp["cutmix"],
                               label_smoothing=hp["label_smoothing"], num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.pooled(x))

    def training_step(self, batch, batch_idx):
        x, y = batch
        if self.mixup is not None:
            x, soft = self.mixup(x, y)
            loss = torch.sum(-soft * nn.functional.log_softmax(self(x), dim=-1), dim=-1).mean()
        else:
            loss = nn.functional.cross_entropy(self(x), y, label_smoothing=self.hp["label_smoothing"])
        return finite_loss(loss, self.global_step)

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x).argmax(dim=1), torch.as_tensor(y)

    def configure_optimizers(self):
        groups = encoder_and_head_groups(self.backbone.model, list(self.head.parameters()),
                                         self.hp["weight_decay"], self.hp["layer_decay"])
        warmup = self.total_steps * self.hp["warmup_epochs"] // max(1, self.hp["epochs"])
        return adamw_stepwise(groups, self.lr, lambda s: warmup_cosine(s, warmup, self.total_steps))


def learning_rate(hp: dict) -> float:
    """MAE's linear scaling rule on the global batch: ``lr = blr x batch_size / 256``."""
    return hp["blr"] * hp["batch_size"] / 256


class ClassificationFinetune(TrainedProtocol):
    """Hooks for classification fine-tuning; the run loop is the engine's."""

    defaults, recipe, schema = DEFAULTS, RECIPE, SCHEMA

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


def run(ctx: ProtocolContext) -> ProtocolResult:
    """Fine-tune on train, score the final model on test."""
    return ClassificationFinetune().run(ctx)
