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

import time

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from rsbench.backbones.memory import module_workload
from rsbench.engine.predict import predict_in_order
from rsbench.engine.resume import checkpoint_path, discard, resume_dir, run_key, under_slurm
from rsbench.engine.sharding import shard_module
from rsbench.engine.trainer import make_trainer, resolved_precision
from rsbench.heads import finetune_head
from rsbench.protocols.base import (
    ProtocolContext,
    ProtocolResult,
    finite_loss,
    resolved_hparams,
    warmup_cosine,
)
from rsbench.protocols.lr_decay import adamw_stepwise, encoder_and_head_groups

RECIPE = ("MAE main_finetune.py as used by RVSA/SatMAE: AdamW blr 1e-3, layer decay 0.75, "
          "drop path 0.1, RandAugment m9, smoothing 0.1, mixup 0.8, cutmix 1.0, reprob 0.25")
DEFAULTS = {
    "epochs": 200,
    "batch_size": 64,
    "blr": 1e-3,
    "warmup_epochs": 5,
    "weight_decay": 0.05,
    "layer_decay": 0.75,
    "drop_path": 0.1,
    "label_smoothing": 0.1,
    "mixup": 0.8,
    "cutmix": 1.0,
    "randaug_magnitude": 9,
    "randaug_ops": 2,
    "reprob": 0.25,
    "min_crop_scale": 0.08,
    "hflip": 0.5,
    "search": None,  # optuna search of blr/weight_decay on val: rsbench/protocols/search.py
}


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


class Finetuner(L.LightningModule):
    """Backbone + linear classifier trained end to end."""

    def __init__(self, backbone: nn.Module, num_classes: int, hp: dict, total_steps: int,
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

    def configure_model(self) -> None:
        shard_module(self)  # FSDP2 under --strategy fsdp on CPU; a no-op otherwise

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


def run(ctx: ProtocolContext) -> ProtocolResult:
    """Fine-tune on train, score the final model on test."""
    hp = resolved_hparams(DEFAULTS, ctx.task.protocol, ctx.task.path)
    if hp["search"] is not None:  # trials on train/val; then the run below with the best values
        from rsbench.protocols.search import searched_finetune

        hp, _ = searched_finetune(ctx, hp)
    L.seed_everything(ctx.seed, workers=True, verbose=False)
    data = ctx.make_data(train_transform=train_transform(ctx.task.dataset.image_size, hp))
    backbone = ctx.make_backbone(drop_path_rate=hp["drop_path"])
    batch = hp["batch_size"]
    generator = torch.Generator().manual_seed(ctx.seed)
    train = DataLoader(data.train, batch_size=batch, shuffle=True, drop_last=True,
                       generator=generator, num_workers=ctx.opts.num_workers)
    if len(train) == 0:
        raise ValueError(f"{ctx.task.task}: batch_size {batch} exceeds the {len(data.train)} training images")
    workload = module_workload(backbone, batch, ctx.task.dataset.image_size,
                               resolved_precision(ctx.opts.precision, ctx.opts.accelerator))
    # Under SLURM: epoch-end checkpoints in the run's own folder, requeue on preemption.
    saved = resume_dir(ctx.opts.root_dir, run_key(ctx))
    trainer = make_trainer(ctx.opts, max_epochs=hp["epochs"], workload=workload,
                           resume_dir=saved, resume_generator=generator)
    lr = hp["blr"] * batch * trainer.world_size / 256
    module = Finetuner(backbone, len(data.classes), hp, len(train) * hp["epochs"], lr)
    start = time.perf_counter()
    trainer.fit(module, train, ckpt_path=checkpoint_path(saved) if under_slurm() else None)
    train_s = time.perf_counter() - start
    # Every test image once, in order, on every rank (DDP/FSDP included).
    preds, target = predict_in_order(trainer, module, data.test, batch, ctx.opts.num_workers)
    metrics = ctx.plugin.scores(preds, target, len(data.classes))
    discard(saved)  # the record follows at once; a kill in between only re-runs the seed
    n_seen = len(train) * batch * hp["epochs"]
    timings = {"train_s": train_s, "train_img_per_s": n_seen / max(train_s, 1e-9)}
    return ProtocolResult(metrics, {**hp, "lr": lr, "recipe": RECIPE}, timings, data.summary())
