"""What all detection datasets share: COCO export, the joint train transform, collation."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from rsbench.config import DatasetSpec
from rsbench.data.detection import (
    DIOR_CLASSES,
    Annotation,
    build_detection_data,
    clean_annotation,
    detection_collate,
    detection_labels_getter,
    make_synthetic_dior,
)

OBJ = ("<object><name>{name}</name><difficult>{hard}</difficult><bndbox><xmin>{x1}</xmin>"
       "<ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>")


def hand_dior(root: Path) -> Path:
    """A DIOR root with one train image and two test images of known sizes and boxes."""
    images = {"00001": ("JPEGImages-trainval", 40, 30, [("ship", 0, 3, 4, 12, 10)]),
              "00002": ("JPEGImages-test", 40, 30, [("airplane", 0, 1, 1, 10, 20),
                                                    ("windmill", 1, 31, 21, 50, 30)]),
              "00003": ("JPEGImages-test", 20, 50, [])}
    (root / "Annotations").mkdir(parents=True)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for image_id, (folder, w, h, objects) in images.items():
        (root / folder).mkdir(exist_ok=True)
        Image.new("RGB", (w, h), (10, 20, 30)).save(root / folder / f"{image_id}.jpg")
        body = "".join(OBJ.format(name=n, hard=d, x1=a, y1=b, x2=c, y2=e)
                       for n, d, a, b, c, e in objects)
        (root / "Annotations" / f"{image_id}.xml").write_text(f"<annotation>{body}</annotation>")
    for split, ids in (("train", "00001\n"), ("val", ""), ("test", "00002\n00003\n")):
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text(ids)
    return root


def spec() -> DatasetSpec:
    return DatasetSpec(name="dior", split={"kind": "official"}, image_size=64)


def test_coco_ground_truth_field_by_field(tmp_path):
    hand_dior(tmp_path / "dior")
    data = build_detection_data(spec(), tmp_path, tmp_path / "splits")
    coco = data.coco_ground_truth("test")
    assert coco["images"] == [
        {"id": 1, "width": 40, "height": 30, "file_name": "JPEGImages-test/00002.jpg"},
        {"id": 2, "width": 20, "height": 50, "file_name": "JPEGImages-test/00003.jpg"},
    ]
    # airplane: VOC 1..10 x 1..20 -> [0, 0, 10, 20]; windmill: [30, 20, 50, 30] clipped to x 40
    assert coco["annotations"] == [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0.0, 0.0, 10.0, 20.0],
         "area": 200.0, "iscrowd": 0, "ignore": 0},
        {"id": 2, "image_id": 1, "category_id": 20, "bbox": [30.0, 20.0, 10.0, 10.0],
         "area": 100.0, "iscrowd": 0, "ignore": 1},
    ]
    assert coco["categories"][0] == {"id": 1, "name": "airplane", "supercategory": "object"}
    assert [c["id"] for c in coco["categories"]] == list(range(1, 21))
    assert [c["name"] for c in coco["categories"]] == list(DIOR_CLASSES)
    assert coco["info"]["split_hash"] == data.split_hash
    # the served targets agree with the export
    image, target = data.test[0]
    assert image.shape == (3, 30, 40) and target["image_id"] == 1
    assert target["boxes"].tolist() == [[0, 0, 10, 20], [30, 20, 40, 30]]
    assert target["labels"].tolist() == [0, 19]
    assert target["difficult"].tolist() == [False, True]
    empty = data.test[1][1]
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,)
    with pytest.raises(ValueError, match="split must be"):
        data.coco_ground_truth("trainval")


def test_clean_annotation_clips_and_drops():
    ann = Annotation.from_lists([[-5, 2, 8, 9], [10, 10, 12, 12], [3, 3, 3, 8]],
                                [1, 2, 3], [False, True, False])
    out = clean_annotation(ann, height=10, width=11)
    assert out.boxes.tolist() == [[0, 2, 8, 9]]
    assert out.labels.tolist() == [1] and out.difficult.tolist() == [False]


def test_joint_flip_moves_boxes_on_train_only(tmp_path):
    make_synthetic_dior(tmp_path / "dior", 3, 64, seed=0)
    plain = build_detection_data(spec(), tmp_path, tmp_path / "splits")
    flipped = build_detection_data(spec(), tmp_path, tmp_path / "splits",
                                   train_transform=v2.RandomHorizontalFlip(p=1.0))
    image, target = plain.train[0]
    image_f, target_f = flipped.train[0]
    w = image.shape[-1]
    assert type(target_f["boxes"]) is torch.Tensor and type(image_f) is torch.Tensor
    b, bf = target["boxes"], target_f["boxes"]
    assert torch.equal(bf[:, 0], w - b[:, 2]) and torch.equal(bf[:, 2], w - b[:, 0])
    assert torch.equal(bf[:, 1], b[:, 1]) and torch.equal(bf[:, 3], b[:, 3])
    assert torch.equal(image_f, image.flip(-1))
    assert torch.equal(target_f["labels"], target["labels"])
    assert torch.equal(target_f["difficult"], target["difficult"])
    assert target_f["image_id"] == target["image_id"] == 1
    assert torch.equal(flipped.test[0][1]["boxes"], plain.test[0][1]["boxes"])


def test_transform_dropping_boxes_must_drop_difficult(tmp_path):
    make_synthetic_dior(tmp_path / "dior", 2, 64, seed=0)

    def drop_all(image, target):
        return image, {**target, "boxes": target["boxes"][:0]}

    data = build_detection_data(spec(), tmp_path, tmp_path / "splits", train_transform=drop_all)
    with pytest.raises(ValueError, match="must filter 'labels' and 'difficult'"):
        data.train[0]


def test_collate_keeps_lists(tmp_path):
    make_synthetic_dior(tmp_path / "dior", 3, 64, seed=0)
    data = build_detection_data(spec(), tmp_path, tmp_path / "splits")
    images, targets = next(iter(DataLoader(data.train, batch_size=4,
                                           collate_fn=detection_collate)))
    assert len(images) == len(targets) == 4
    assert [t["image_id"] for t in targets] == [1, 2, 3, 4]
    assert all(isinstance(i, torch.Tensor) and i.shape == (3, 64, 64) for i in images)
    assert np.isclose(float(images[0].max()), float(data.train[0][0].max()))


def test_sanitize_with_labels_getter_keeps_fields_aligned(tmp_path):
    make_synthetic_dior(tmp_path / "dior", 4, 64, seed=0)
    transform = v2.Compose([v2.RandomIoUCrop(),
                            v2.SanitizeBoundingBoxes(labels_getter=detection_labels_getter)])
    data = build_detection_data(spec(), tmp_path, tmp_path / "splits", train_transform=transform)
    torch.manual_seed(0)
    for index in range(len(data.train)):
        image, target = data.train[index]
        n = len(target["boxes"])
        assert len(target["labels"]) == len(target["difficult"]) == n
        assert (target["boxes"][:, 2] <= image.shape[-1]).all()
    images, _ = next(iter(DataLoader(data.train, batch_size=2, num_workers=1,
                                     collate_fn=detection_collate)))
    assert len(images) == 2
