"""What every detection dataset shares: annotations, the dataset, the built data, COCO export.

A sample is a pair of paths relative to the dataset root, ``(image, annotation)``; the adapter
turns the annotation into an :class:`Annotation` (pixel ``xyxy`` boxes in continuous
coordinates, 0-based, ``x2``/``y2`` exclusive, so a box's width is ``x2 - x1``). Boxes are
clipped to the image and degenerate ones dropped (:func:`clean_annotation`) by the same code for
training, evaluation and the COCO ground truth, so the three always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rsbench.data.bundle import SizedDataset, SplitData

if TYPE_CHECKING:
    from rsbench.data.detection.base import DetAdapter

DetSample = tuple[str, str]
"""A detection sample: image and annotation paths relative to the dataset root (POSIX form)."""


@dataclass(frozen=True)
class Annotation:
    """The objects of one image.

    Attributes:
        boxes: float32 ``[N, 4]`` pixel ``xyxy``.
        labels: int64 ``[N]`` in ``0..K-1``.
        difficult: bool ``[N]`` (VOC ``difficult``, DOTA ``difficult`` or truncated by tiling).
    """

    boxes: np.ndarray
    labels: np.ndarray
    difficult: np.ndarray

    @staticmethod
    def from_lists(boxes: list, labels: list, difficult: list) -> Annotation:
        """An annotation from plain lists (``boxes`` may be empty)."""
        return Annotation(np.asarray(boxes, np.float32).reshape(-1, 4),
                          np.asarray(labels, np.int64).reshape(-1),
                          np.asarray(difficult, bool).reshape(-1))


def clean_annotation(ann: Annotation, height: int, width: int) -> Annotation:
    """``ann`` with boxes clipped to ``[0, width] x [0, height]`` and empty ones dropped."""
    boxes = ann.boxes.astype(np.float32, copy=True)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return Annotation(boxes[keep], ann.labels[keep], ann.difficult[keep])


def make_target(ann: Annotation, image_id: int) -> dict[str, Any]:
    """The target dict the detection protocol consumes."""
    return {"boxes": torch.from_numpy(ann.boxes.copy()),
            "labels": torch.from_numpy(ann.labels.copy()),
            "difficult": torch.from_numpy(ann.difficult.copy()),
            "image_id": int(image_id)}


def apply_joint(transform: Callable, image: torch.Tensor,
                target: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
    """Run a torchvision v2 joint transform on ``(image, target)``; boxes travel as
    ``tv_tensors.BoundingBoxes`` and come back as plain tensors.

    A transform that drops boxes (``SanitizeBoundingBoxes``) must drop ``difficult`` too:
    pass ``labels_getter=detection_labels_getter``; a length mismatch raises.
    """
    from torchvision import tv_tensors

    h, w = image.shape[-2:]
    target = dict(target)
    target["boxes"] = tv_tensors.BoundingBoxes(target["boxes"], format="XYXY",
                                               canvas_size=(int(h), int(w)))
    image, target = transform(image, target)
    target = dict(target)
    target["boxes"] = target["boxes"].as_subclass(torch.Tensor).to(torch.float32)
    image = image.as_subclass(torch.Tensor)
    n = len(target["boxes"])
    if len(target["labels"]) != n or len(target["difficult"]) != n:
        raise ValueError(f"train_transform returned {n} boxes but {len(target['labels'])} "
                         f"labels and {len(target['difficult'])} difficult flags; a transform "
                         f"that removes boxes must filter 'labels' and 'difficult' too")
    return image, target


def detection_labels_getter(inputs: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """``labels_getter`` for ``v2.SanitizeBoundingBoxes`` on ``(image, target)`` inputs: it
    filters ``labels`` and ``difficult`` together with the boxes (a module-level function, so
    a transform holding it pickles into DataLoader workers)."""
    target = inputs[1] if len(inputs) > 1 else inputs[0][1]
    return target["labels"], target["difficult"]


def detection_collate(batch: list[tuple[torch.Tensor, dict]]) -> tuple[list, list]:
    """``(images, targets)`` lists: detection images differ in size and box count."""
    return [image for image, _ in batch], [target for _, target in batch]


class DetectionDataset(SizedDataset):
    """``(image, target)`` pairs at native resolution.

    ``image`` is float32 ``[C, H, W]`` in [0, 1]; ``target`` is ``{"boxes": float32 [N, 4]
    xyxy, "labels": int64 [N], "difficult": bool [N], "image_id": int}`` where ``image_id`` is
    the sample's position in this split plus 1 (the id :meth:`coco_ground_truth` uses).

    Args:
        root: the dataset root the sample paths are relative to.
        samples: ``(image, annotation)`` relative paths, in the order they are served.
        adapter: reads images, image sizes and annotations.
        transform: joint torchvision v2 callable, see :func:`apply_joint`, or None.
    """

    def __init__(self, root: Path, samples: list[DetSample], adapter: DetAdapter,
                 transform: Callable | None = None) -> None:
        self.root = Path(root)
        self.samples = list(samples)
        self.adapter = adapter
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def annotation(self, index: int, height: int, width: int) -> Annotation:
        """The cleaned annotation of sample ``index`` for an image of the given size."""
        img_rel, ann_rel = self.samples[index]
        ann = self.adapter.load_annotation(self.root, img_rel, ann_rel)
        return clean_annotation(ann, height, width)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        image = self.adapter.read_image(self.root / self.samples[index][0])
        h, w = image.shape[-2:]
        target = make_target(self.annotation(index, int(h), int(w)), index + 1)
        if self.transform is not None:
            image, target = apply_joint(self.transform, image, target)
        return image, target

    def coco_ground_truth(self, classes: list[str], info: dict | None = None) -> dict:
        """This split's ground truth as a COCO dict (see :meth:`DetectionData.coco_ground_truth`)."""
        images: list[dict] = []
        annotations: list[dict] = []
        for index, (img_rel, _) in enumerate(self.samples):
            h, w = self.adapter.image_size(self.root / img_rel)
            image_id = index + 1
            images.append({"id": image_id, "width": w, "height": h, "file_name": img_rel})
            ann = self.annotation(index, h, w)
            for box, label, hard in zip(ann.boxes.tolist(), ann.labels.tolist(),
                                        ann.difficult.tolist(), strict=True):
                bw, bh = box[2] - box[0], box[3] - box[1]
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image_id,
                    "category_id": int(label) + 1, "bbox": [box[0], box[1], bw, bh],
                    "area": bw * bh, "iscrowd": 0, "ignore": int(bool(hard)),
                })
        categories = [{"id": i + 1, "name": name, "supercategory": "object"}
                      for i, name in enumerate(classes)]
        return {"info": dict(info or {}), "images": images, "annotations": annotations,
                "categories": categories}

    def __repr__(self) -> str:
        return (f"DetectionDataset(n={len(self)}, root={str(self.root)!r}, "
                f"transform={'yes' if self.transform else 'no'})")


@dataclass
class DetectionData(SplitData):
    """Detection: datasets yield ``(image, target)`` with pixel xyxy ``boxes``, ``labels``
    (COCO category ``label + 1``) and ``difficult``; the fields are
    :class:`~rsbench.data.bundle.SplitData`'s."""

    #: What the adapter knows of how the folder was prepared (DOTA: variant, reference).
    prepared: dict | None = None

    def summary(self) -> dict:
        """JSON-ready provenance for a run record (with ``prepared`` when known)."""
        out = super().summary()
        return {**out, "prepared": self.prepared} if self.prepared else out

    def coco_ground_truth(self, split: str) -> dict:
        """The ground truth of ``split`` (``train``/``val``/``test``) as a COCO-format dict.

        ``images``: ``id`` (position in the split + 1, as ``target["image_id"]``), ``width``,
        ``height``, ``file_name`` (path relative to the root); ``annotations``: ``id`` (from 1),
        ``image_id``, ``category_id`` (label + 1), ``bbox`` ``[x, y, w, h]``, ``area`` (``w *
        h``), ``iscrowd`` 0, ``ignore`` 1 for difficult objects; ``categories``: ``id``, ``name``.
        The boxes are exactly those the datasets serve (clipped, degenerate ones dropped).
        """
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        info = {"dataset": self.dataset, "split": split, "split_hash": self.split_hash}
        return getattr(self, split).coco_ground_truth(self.classes, info)
