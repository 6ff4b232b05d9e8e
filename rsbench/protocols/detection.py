"""What the detection protocols share: augmentation, the Lightning module, the run.

Training follows mmdet's "1x" schedule as ViTDet / RVSA use it: ``epochs`` (12) with the lr
multiplied by 0.1 at the start of each epoch in ``lr_steps`` (8 and 11), after a linear warm-up
over ``warmup_iters`` from ``warmup_ratio`` x lr. ``iterations`` (default None), when set,
replaces the epoch count by a step budget and the decay points scale with it (8/12 and 11/12 of
the budget); the demo uses it. Images are resized to ``dataset.image_size`` (square, 800 px in
the recipes) and flipped horizontally with probability ``hflip``; difficult boxes are dropped
from the training targets (mmdet's VOC / DOTA loaders put them in ``gt_bboxes_ignore``, which its
standard pipelines do not use). ``batch_size`` is the global batch, split evenly over processes.

Evaluation: ``trainer.predict`` over the test split at native size (torchvision resizes to
``image_size`` and maps the boxes back), detections are gathered from every process and scored
once by ``rsbench.tasks.detection.coco_scores`` against ``data.coco_ground_truth("test")``
(difficult objects ignored VOC-style). The model after the last step is scored; validation is
not used for model selection.

Backends: ``torchvision`` (default) builds ``rsbench.heads.detection.DetectionModel`` from
``detector`` / ``channels`` / ...; ``mmdet`` builds the MMDetection model given as
``model_config`` (``rsbench.heads.mmdet``), which then owns those detector options: setting one of
them as well is an error. Both train and score through the same module, schedule and COCO eval.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import lightning as L
import torch

from rsbench.config import SpecError
from rsbench.engine.protocol import (
    ProtocolContext,
    Schedule,
    ShardedModule,
    TrainedProtocol,
    finite_loss,
)
from rsbench.heads.detection import DetectionModel
from rsbench.protocols.lr_decay import adamw_stepwise, encoder_and_head_groups
from rsbench.protocols.recipes import NONE, NUMBER, named_recipe, recipe
from rsbench.tasks.detection import coco_scores

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone
    from rsbench.heads.mmdet import MMDetModel

COMMON_SCHEMA = {
    "backend": (str,), "model_config": (dict, str, NONE), "detector": (str,), "channels": (int,),
    "epochs": (int,), "iterations": (int, NONE), "lr_steps": (list,), "lr_gamma": NUMBER,
    "batch_size": (int,), "eval_batch_size": (int,), "lr": NUMBER, "weight_decay": NUMBER,
    "warmup_iters": (int,), "warmup_ratio": NUMBER, "hflip": NUMBER, "score_thresh": NUMBER,
    "detections_per_img": (int,), "box_batch_size_per_image": (int,),
}
COMMON_DEFAULTS = recipe("detection", "frozen")  # tasks/detection/_protocols/frozen.yaml
# What the torchvision backend builds from; an mmdet model config says all of it itself.
TORCHVISION_ONLY = ("detector", "channels", "score_thresh", "detections_per_img",
                    "box_batch_size_per_image")


class DetectionTrainTransform:
    """Resize to ``size`` x ``size`` and flip horizontally, image and boxes together."""

    def __init__(self, size: int, hflip: float = 0.5) -> None:
        self.size, self.hflip = size, hflip

    def __call__(self, image: torch.Tensor, target: dict):
        from torchvision import tv_tensors
        from torchvision.transforms.v2 import functional as TF

        h, w = image.shape[-2:]
        boxes = target["boxes"]
        if not isinstance(boxes, tv_tensors.BoundingBoxes):
            boxes = tv_tensors.BoundingBoxes(torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                                             format="XYXY", canvas_size=(h, w))
        image = torch.as_tensor(image).as_subclass(torch.Tensor)
        if (h, w) != (self.size, self.size):
            image = TF.resize(image, [self.size, self.size], antialias=True)
            boxes = TF.resize(boxes, [self.size, self.size])
        if float(torch.rand(())) < self.hflip:
            image, boxes = TF.horizontal_flip(image), TF.horizontal_flip(boxes)
        return image.contiguous(), {**target, "boxes": boxes.as_subclass(torch.Tensor).float()}


def list_collate(batch):
    """``(images, targets)`` as two lists: detection images may differ in size."""
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)


def training_targets(targets: list[dict], min_size: float = 1.0) -> list[dict]:
    """Targets without difficult boxes and without boxes thinner than ``min_size`` pixels."""
    out = []
    for t in targets:
        boxes, labels = t["boxes"].float(), t["labels"].long()
        keep = ((boxes[:, 2] - boxes[:, 0]) >= min_size) & ((boxes[:, 3] - boxes[:, 1]) >= min_size)
        if "difficult" in t:
            keep &= ~torch.as_tensor(t["difficult"], dtype=torch.bool, device=boxes.device)
        out.append({"boxes": boxes[keep], "labels": labels[keep]})
    return out


def step_lr_factor(step: int, hp: dict, total: int, steps_per_epoch: int) -> float:
    """Linear warm-up from ``warmup_ratio``, then x ``lr_gamma`` at each of ``lr_steps``."""
    if hp["iterations"]:
        epoch_len = total / hp["epochs"]  # decay points scale with the step budget
    else:
        epoch_len = steps_per_epoch
    factor = hp["lr_gamma"] ** sum(step >= m * epoch_len for m in hp["lr_steps"])
    if step < hp["warmup_iters"]:
        r = hp["warmup_ratio"]
        factor *= r + (1 - r) * step / hp["warmup_iters"]
    return factor


class DetectionModule(ShardedModule, L.LightningModule):
    """Trains a ``DetectionModel``; ``predict_step`` returns each image's detections on the CPU.

    Training and prediction go through ``self(...)`` so that FSDP's root hooks see them.

    ``layer_decay`` None means a frozen encoder (only pyramid and detector heads are optimised).
    """

    def __init__(self, model: DetectionModel | MMDetModel, hp: dict, layer_decay: float | None = None) -> None:
        super().__init__()
        self.model, self.hp, self.layer_decay = model, hp, layer_decay
        self.total_steps, self.steps_per_epoch = 1, 1

    def forward(self, images, targets=None):
        return self.model(images, targets)

    def training_step(self, batch, batch_idx):
        images, targets = batch
        losses = self(images, training_targets(targets))
        loss = sum(losses.values())
        return finite_loss(loss, self.global_step)

    def predict_step(self, batch, batch_idx) -> list[dict]:
        images, targets = batch
        return [{"image_id": int(t["image_id"]),
                 **{k: out[k].detach().float().cpu().numpy() if k != "labels" else out[k].cpu().numpy()
                    for k in ("boxes", "scores", "labels")}}
                for out, t in zip(self(images), targets, strict=True)]

    def param_groups(self) -> list[dict]:
        """Detector groups (lr scale 1), plus MAE layer-decayed encoder groups when fine-tuning."""
        encoder = self.model.encoder
        enc = {id(p) for p in encoder.parameters()}
        rest = [p for p in self.model.parameters() if id(p) not in enc]
        return encoder_and_head_groups(encoder.model, rest, self.hp["weight_decay"], self.layer_decay)

    def configure_optimizers(self):
        hp, total, per_epoch = self.hp, self.total_steps, self.steps_per_epoch
        return adamw_stepwise(self.param_groups(), hp["lr"],
                              lambda s: step_lr_factor(s, hp, total, per_epoch))


def checked_backend(hp: dict, where: str | None) -> str:
    """``hp["backend"]`` once its options are consistent; a ``SpecError`` naming the task if not."""
    backend = hp["backend"]
    if backend == "torchvision":
        if hp["model_config"] is not None:
            raise SpecError(f"{where}: model_config is an mmdet model; set backend: mmdet")
        return backend
    if backend != "mmdet":
        raise SpecError(f"{where}: backend {backend!r}: use 'torchvision' or 'mmdet'")
    if not isinstance(hp["model_config"], dict | str):
        raise SpecError(f"{where}: backend mmdet needs model_config: an mmdet model mapping or "
                        "the path of an mmdet config file")
    moved = [k for k in TORCHVISION_ONLY if hp[k] != COMMON_DEFAULTS[k]]
    if moved:
        raise SpecError(f"{where}: option(s) {moved} configure the torchvision detector; with "
                        "backend mmdet set them in model_config")
    return backend


def build_module(backbone: Backbone, num_classes: int, hp: dict, image_size: int, frozen: bool,
                 layer_decay: float | None, base_dir: Path | None = None) -> DetectionModule:
    """Backbone + pyramid + detector wrapped for training.

    With ``backend: mmdet`` the resolved mmdet model config (and where it came from) replaces
    ``hp["model_config"]`` in the module's ``hp``, so that the record keeps what was trained.
    """
    if hp["backend"] == "mmdet":
        from rsbench.backbones.pyramid import level_channels
        from rsbench.heads.mmdet import MMDetModel, config_from, resolved_model_config

        raw, source = config_from(hp["model_config"], base_dir)
        config = resolved_model_config(raw, num_classes, backbone.embed_dim,
                                       backbone.input_spec.in_chans, frozen,
                                       level_channels(backbone))
        hp = {**hp, "model_config": config, "model_config_source": source}
        return DetectionModule(MMDetModel(backbone, config, image_size), hp,
                               None if frozen else layer_decay)
    model = DetectionModel(backbone, num_classes, image_size, hp["detector"], frozen=frozen,
                           channels=hp["channels"],
                           score_thresh=hp["score_thresh"], detections_per_img=hp["detections_per_img"],
                           **({"box_batch_size_per_image": hp["box_batch_size_per_image"]}
                              if hp["detector"] == "faster_rcnn" else {}))
    return DetectionModule(model, hp, None if frozen else layer_decay)


class DetectionProtocol(TrainedProtocol):
    """Hooks for detection (frozen encoder or fine-tune); the run loop is the engine's.

    roi_align's CUDA backward has no deterministic kernel: warn rather than fail. The mmdet
    backend's pyramid has BatchNorm (RVSA's): it is synchronised across processes.
    """

    deterministic = "warn"

    def __init__(self, name: str) -> None:
        """``name``: ``frozen`` (pyramid and detector only) or ``finetune``; its recipe is
        ``tasks/detection/_protocols/<name>.yaml``."""
        named_recipe(self, "detection", name, COMMON_SCHEMA)

    def checked(self, hp: dict, ctx: ProtocolContext) -> dict:
        checked_backend(hp, ctx.task.path)
        return hp

    def train_transform(self, ctx: ProtocolContext, hp: dict) -> DetectionTrainTransform:
        return DetectionTrainTransform(ctx.task.dataset.image_size, hp["hflip"])

    def collate(self):
        return list_collate

    def sync_batchnorm(self, hp: dict) -> bool:
        return hp["backend"] == "mmdet"

    def module(self, ctx, hp, data, backbone, schedule: Schedule) -> DetectionModule:
        base_dir = Path(ctx.task.path).parent if ctx.task.path else None
        module = build_module(backbone, len(data.classes), hp, ctx.task.dataset.image_size,
                              self.frozen, hp.get("layer_decay"), base_dir)
        module.steps_per_epoch, module.total_steps = schedule.steps_per_epoch, schedule.total_steps
        return module

    def scores(self, ctx, data, outputs) -> dict:
        return coco_scores(data.coco_ground_truth("test"), outputs, data.classes)

    def resolved(self, module, hp, ctx) -> dict:
        used = module.hp
        model = (f"MMDetection model ({used.get('model_config_source')})" if used["backend"] == "mmdet"
                 else f"torchvision {used['detector']}")
        return {**used, "image_size": ctx.task.dataset.image_size,
                "total_steps": module.total_steps, "model": model}


#: The registered protocols (``rsbench.tasks.detection.PROTOCOLS``).
FROZEN = DetectionProtocol("frozen")
FINETUNE = DetectionProtocol("finetune")
