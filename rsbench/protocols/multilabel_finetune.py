"""Full fine-tuning for multi-label classification (BigEarthNet): the classification fine-tune's
encoder, head and optimiser (MAE ``main_finetune.py``: AdamW, lr = blr x batch / 256, layer-wise
lr decay, warm-up then cosine, drop path) with the multi-label parts of the BigEarthNet recipes.

- Loss: the task type's own (``plugin.probe_loss``; multi-label: binary cross-entropy on the
  logits averaged over every (image, label) pair). SMARTIES' and SSL4EO-S12's BigEarthNet
  fine-tunes train with ``MultiLabelSoftMarginLoss``, which is the same number.
- No mixup, cutmix or label smoothing: neither recipe uses them on BigEarthNet (SMARTIES turns
  smoothing off and leaves mixup unset for its BigEarthNet-S2 fine-tune, while its EuroSAT
  fine-tune sets mixup 0.8 / cutmix 1.0), and timm's ``Mixup`` takes one class index per image.
  The schema has no such keys, so a task that sets one is refused.
- Augmentation ``geometric`` only: random resized crop (scale ``min_crop_scale``..1, SSL4EO-S12's
  0.8 "to avoid cropping out labels") and horizontal flip, alike on every band. RandAugment and
  random erasing are not part of these recipes (erasing could remove a label's only evidence).
- Scored with the plugin's ``scores`` on the logits of the model after the last epoch:
  macro/micro mAP and F1 of the sigmoid probabilities (``rsbench.tasks.multilabel``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from rsbench.engine.protocol import ProtocolContext, Schedule, TrainedProtocol
from rsbench.protocols.finetune import (
    ENCODER_FINETUNE_SCHEMA,
    EncoderFinetuner,
    checked_augment,
    geometric_steps,
    learning_rate,
)
from rsbench.protocols.recipes import recipe, recipe_sentence

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone
    from rsbench.config import TaskSpec

SCHEMA = dict(ENCODER_FINETUNE_SCHEMA)
#: The one augmentation the multi-label recipes define.
AUGMENTS = ("geometric",)


class MultiLabelFinetuner(EncoderFinetuner):
    """Backbone + linear head over ``num_labels`` logits, trained with ``loss(logits, target)``
    on ``{0, 1}`` label vectors; ``predict_step`` returns the logits."""

    def __init__(self, backbone: Backbone, num_labels: int, hp: dict, total_steps: int,
                 lr: float, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        super().__init__(backbone, num_labels, hp, total_steps, lr)
        self.loss_of_logits = loss

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_of_logits(self(x), y)

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x), torch.as_tensor(y)


class MultiLabelFinetune(TrainedProtocol):
    """Hooks for multi-label fine-tuning; the run loop is the engine's."""

    schema = SCHEMA

    def __init__(self) -> None:
        self.defaults = recipe("multilabel", "finetune")  # tasks/multilabel/_protocols/finetune.yaml
        self.recipe = recipe_sentence("multilabel", "finetune")

    def validated(self, hp: dict, task: TaskSpec) -> dict:
        return checked_augment(hp, task, AUGMENTS)

    def train_transform(self, ctx: ProtocolContext, hp: dict):
        from torchvision.transforms import v2

        return v2.Compose(geometric_steps(ctx.task.dataset.image_size, hp))

    def module(self, ctx, hp, data, backbone, schedule: Schedule) -> MultiLabelFinetuner:
        return MultiLabelFinetuner(backbone, len(data.classes), hp, schedule.total_steps,
                                   learning_rate(hp), ctx.plugin.probe_loss)

    def scores(self, ctx, data, outputs) -> dict:
        logits, target = outputs
        return ctx.plugin.scores(logits, target, len(data.classes))

    def resolved(self, module, hp, ctx) -> dict:
        return {**hp, "lr": module.lr}


#: What ``finetune`` means for ``type: multilabel`` (``rsbench.tasks.multilabel.PROTOCOLS``).
FINETUNE = MultiLabelFinetune()
