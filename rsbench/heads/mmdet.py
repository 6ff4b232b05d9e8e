"""The MMDetection backend: an MMDetection 3.x detector config over an rsbench ViT.

Authors who need the exact detector of an RS paper (RVSA / MTP run mmdet's Faster R-CNN + FPN
on DIOR and DOTA) give its ``model`` config, inline in the task YAML or as a config file.
rsbench builds it with mmdet's registry after four stated substitutions, and everything else
(data, augmentation, schedule, layer decay, COCO scoring, the record) stays rsbench's own:

- ``backbone`` becomes ``RSBenchViT``: the loaded rsbench encoder (weights from rsbench's safe
  loader and its load report; mmengine never loads a checkpoint) and RVSA's four-level pyramid
  (``rsbench.heads.upernet.ViTPyramid``: maps after the blocks at 1/4, 1/2, 3/4 and 4/4 of the
  depth taken to strides 4 / 8 / 16 / 32);
- ``neck.in_channels`` becomes the encoder width, once for each of the four levels (a feature
  pyramid's levels, ``rsbench.backbones.pyramid``: ResNet, ConvNeXt, Swin, go to the neck as
  they are, with their own widths, and no ViT pyramid is built);
- every ``num_classes`` of the detection heads (``bbox_head``, ``roi_head.bbox_head``, a list
  of them for cascades) becomes the dataset's class count; the RPN's single class stays;
- ``data_preprocessor`` becomes ``DetDataPreprocessor`` with mean 0, std 1, no channel swap and
  no padding: rsbench encoders normalise their [0, 1] input themselves, and every input is
  resized to the square ``image_size`` the ViT was built for.

The data pipeline, optimiser and schedule of a config file are not used; the run's record keeps
the resolved model config it trained.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn import functional as F

from rsbench.config import SpecError
from rsbench.errors import InputNotFound

if TYPE_CHECKING:
    from rsbench.backbones.base import Backbone

INSTALL_HINT = ("the mmdet backend needs MMDetection 3.3 with mmcv 2.1 built from source: run "
                "`make setup-mmdet` (or install rsbench[mmdet] after building mmcv)")
BACKBONE_TYPE = "RSBenchViT"


def require_mmdet() -> None:
    """Import mmdet (and mmcv's compiled ops) or raise a one-line ``ImportError`` saying how."""
    try:
        import mmcv.ops  # noqa: F401  (mmcv-lite and a CPU-less build lack the ops)
        import mmdet  # noqa: F401
    except Exception as err:  # ImportError, or mmcv's version assertion in mmdet/__init__
        raise ImportError(f"{INSTALL_HINT} ({type(err).__name__}: {err})") from None


def config_from(spec: dict | str, base_dir: Path | None = None) -> tuple[dict, str]:
    """The detector's ``model`` config and where it came from.

    ``spec`` is either the model mapping itself or a path (relative to ``base_dir``) to an
    mmdet config file whose ``model`` is used; a config file is Python that mmengine executes,
    as in MMDetection itself, so only configs you would run with mmdet belong there.
    """
    if isinstance(spec, dict):
        return copy.deepcopy(spec), "inline"
    path = Path(spec)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise InputNotFound(f"{path}: mmdet config file not found (model_config is resolved "
                                "relative to the task file)")
    require_mmdet()
    from mmengine.config import Config

    cfg = Config.fromfile(str(path))
    if "model" not in cfg:
        raise SpecError(f"{path}: an mmdet config needs a 'model' entry")
    return cfg.model.to_dict(), str(path)


def _head_dicts(model: dict) -> list[dict]:
    heads: list[dict] = []
    for owner in (model, model.get("roi_head") or {}):
        head = owner.get("bbox_head")
        heads += head if isinstance(head, list) else [head] if isinstance(head, dict) else []
    return heads


def resolved_model_config(model: dict, num_classes: int, embed_dim: int, in_chans: int,
                          frozen: bool = False, level_channels: list[int] | None = None) -> dict:
    """``model`` with rsbench's four substitutions (module docstring); the input is not changed.
    ``level_channels``: a feature pyramid's widths at strides 4-32 (None for a ViT)."""
    model = copy.deepcopy(model)
    if "type" not in model:
        raise SpecError("mmdet model config: missing 'type' (e.g. FasterRCNN, RetinaNet)")
    heads = _head_dicts(model)
    if not heads:
        raise SpecError(f"mmdet model config {model['type']}: no bbox_head or roi_head.bbox_head "
                         "to set num_classes on")
    for head in heads:
        head["num_classes"] = num_classes
    model["backbone"] = {"type": BACKBONE_TYPE, "frozen": frozen}
    if isinstance(model.get("neck"), dict):
        model["neck"]["in_channels"] = (list(level_channels) if level_channels is not None
                                        else [embed_dim] * 4)
    model["data_preprocessor"] = {"type": "DetDataPreprocessor", "mean": [0.0] * in_chans,
                                  "std": [1.0] * in_chans, "bgr_to_rgb": False,
                                  "pad_size_divisor": 1}
    return model


def register_backbone() -> None:
    """Register ``RSBenchViT`` in mmdet's model registry (once per process)."""
    from mmdet.registry import MODELS
    from mmengine.model import BaseModule

    if MODELS.get(BACKBONE_TYPE) is not None:
        return

    class RSBenchViT(BaseModule):
        """An rsbench ``Backbone`` + RVSA pyramid as an mmdet backbone (tuple of 4 maps); a
        feature pyramid's own four levels without it."""

        def __init__(self, encoder: Backbone, frozen: bool = False) -> None:
            from rsbench.backbones.pyramid import level_channels
            from rsbench.heads.upernet import GivenLevels, ViTPyramid, drop_unused_for_maps

            super().__init__()
            self.encoder, self.frozen = encoder, frozen
            self.levels = encoder.default_levels()
            self.pyramid = (ViTPyramid(encoder.embed_dim) if level_channels(encoder) is None
                            else GivenLevels())
            if frozen:
                encoder.requires_grad_(False)
                encoder.eval()
            else:
                drop_unused_for_maps(encoder)  # unused by feature maps; DDP wants every grad

        def init_weights(self) -> None:
            """Nothing: the encoder holds loaded weights (timm's own ``init_weights`` would
            re-initialise them) and the pyramid keeps PyTorch's initialisation."""

        def train(self, mode: bool = True):
            super().train(mode)
            if self.frozen:
                self.encoder.eval()
            return self

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            from rsbench.heads.upernet import maps_at

            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
                maps = maps_at(self.encoder, x, self.levels)
            return tuple(self.pyramid(maps, x.shape[-2:]))

    MODELS.register_module(name=BACKBONE_TYPE, module=RSBenchViT)


def build_mmdet_detector(encoder: Backbone, model: dict) -> nn.Module:
    """mmdet's detector for a resolved model config, with ``encoder`` as its backbone.

    mmdet's own ``init_weights`` runs (its heads' ``init_cfg``, as mmengine's runner would do);
    ``RSBenchViT`` leaves the loaded encoder untouched.
    """
    require_mmdet()
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import ConfigDict

    register_all_modules(init_default_scope=True)
    register_backbone()
    cfg = copy.deepcopy(model)
    cfg["backbone"] = {**cfg["backbone"], "encoder": encoder}  # the module itself, not a copy
    detector = MODELS.build(ConfigDict(cfg))  # mmdet reads sub-configs as attributes
    with quiet_mmengine():  # its init log lists every parameter at INFO level
        detector.init_weights()
    return detector


@contextlib.contextmanager
def quiet_mmengine():
    """mmengine's current logger raised to WARNING for the duration."""
    import logging

    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def data_samples(images: list[torch.Tensor], targets: list[dict], size: int, training: bool):
    """Inputs resized to ``size`` x ``size`` and mmdet ``DetDataSample``s carrying the scale.

    Training images arrive resized by the train transform; test images keep their native size
    here and mmdet maps predicted boxes back through ``scale_factor``.
    """
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    inputs, samples = [], []
    for image, target in zip(images, targets, strict=True):
        h, w = image.shape[-2:]
        if (h, w) != (size, size):
            image = F.interpolate(image[None].float(), size=(size, size), mode="bilinear",
                                  align_corners=False, antialias=True)[0]
        sample = DetDataSample(metainfo={"img_id": int(target.get("image_id", -1)),
                                         "ori_shape": (h, w), "img_shape": (size, size),
                                         "scale_factor": (size / w, size / h)})
        if training:
            sample.gt_instances = InstanceData(bboxes=target["boxes"].float(),
                                               labels=target["labels"].long())
        inputs.append(image)
        samples.append(sample)
    return inputs, samples


def summed_losses(losses: dict[str, Any]) -> dict[str, torch.Tensor]:
    """mmdet's loss dict as one tensor per ``loss*`` entry (per-level lists summed, the way
    mmengine's ``parse_losses`` does); accuracies and other logs are dropped."""
    out = {}
    for name, value in losses.items():
        if "loss" not in name:
            continue
        out[name] = value.mean() if isinstance(value, torch.Tensor) else sum(v.mean() for v in value)
    return out


class MMDetModel(nn.Module):
    """An mmdet detector behind ``DetectionModel``'s interface (0-based labels in and out).

    ``forward(images, targets)`` returns the loss dict in training mode and per-image
    ``{"boxes" xyxy at native size, "scores", "labels"}`` in eval mode.
    """

    def __init__(self, encoder: Backbone, model: dict, image_size: int) -> None:
        super().__init__()
        self.detector, self.image_size = build_mmdet_detector(encoder, model), image_size

    @property
    def encoder(self) -> Backbone:
        """The rsbench ``Backbone`` inside."""
        return self.detector.backbone.encoder  # type: ignore[union-attr,return-value]  # an mmdet model, untyped

    def _batch(self, images, targets, training: bool) -> dict:
        inputs, samples = data_samples(list(images), list(targets), self.image_size, training)
        pre: Any = self.detector.data_preprocessor  # an mmengine module: untyped
        pre.to(inputs[0].device)  # mmengine tracks its device in .to(); Lightning moves by _apply
        return pre({"inputs": inputs, "data_samples": samples}, training)

    def forward(self, images: list[torch.Tensor], targets: list[dict] | None = None):
        if self.training:
            data = self._batch(images, targets, training=True)
            return summed_losses(self.detector(data["inputs"], data["data_samples"], mode="loss"))
        if targets is None:
            targets = [{} for _ in images]
        data = self._batch(images, targets, training=False)
        results = self.detector(data["inputs"], data["data_samples"], mode="predict")
        return [{"boxes": r.pred_instances.bboxes, "scores": r.pred_instances.scores,
                 "labels": r.pred_instances.labels} for r in results]

