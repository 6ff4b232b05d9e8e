"""An in-memory detection dataset meeting the data contract: coloured squares on noise."""

from __future__ import annotations

from types import SimpleNamespace

import torch

COLOURS = ((1.0, 0.1, 0.1), (0.1, 1.0, 0.1))


class FakeDetDataset(torch.utils.data.Dataset):
    """``n`` images of ``size`` px with 1-2 squares each (class = colour); every 5th is difficult."""

    def __init__(self, n: int, size: int, seed: int, transform=None) -> None:
        g = torch.Generator().manual_seed(seed)
        self.items, self.transform = [], transform
        for i in range(n):
            image = torch.rand(3, size, size, generator=g) * 0.3
            boxes, labels, difficult = [], [], []
            for j in range(1 + i % 2):
                s = int(torch.randint(size // 5, size // 3, (), generator=g))
                x = int(torch.randint(0, size - s, (), generator=g)) if j == 0 else size - s - 1
                y = int(torch.randint(0, size - s, (), generator=g)) if j == 0 else size - s - 1
                k = int(torch.randint(0, 2, (), generator=g))
                image[:, y:y + s, x:x + s] = torch.tensor(COLOURS[k])[:, None, None]
                boxes.append([x, y, x + s, y + s])
                labels.append(k)
                difficult.append((i + j) % 5 == 4)
            self.items.append((image, {"boxes": torch.tensor(boxes, dtype=torch.float32),
                                       "labels": torch.tensor(labels, dtype=torch.int64),
                                       "difficult": torch.tensor(difficult),
                                       "image_id": i + 1}))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        image, target = self.items[index]
        if self.transform is None:
            return image, target
        from torchvision import tv_tensors

        h, w = image.shape[-2:]
        boxed = {**target, "boxes": tv_tensors.BoundingBoxes(target["boxes"], format="XYXY",
                                                             canvas_size=(h, w))}
        return self.transform(image, boxed)

    def coco_ground_truth(self, classes) -> dict:
        images, anns = [], []
        for image, t in self.items:
            images.append({"id": t["image_id"], "width": image.shape[-1], "height": image.shape[-2]})
            for box, label, hard in zip(t["boxes"].tolist(), t["labels"].tolist(),
                                        t["difficult"].tolist(), strict=True):
                w, h = box[2] - box[0], box[3] - box[1]
                anns.append({"id": len(anns) + 1, "image_id": t["image_id"],
                             "category_id": label + 1, "bbox": [box[0], box[1], w, h],
                             "area": w * h, "iscrowd": 0, "ignore": int(hard)})
        return {"images": images, "annotations": anns,
                "categories": [{"id": i + 1, "name": n} for i, n in enumerate(classes)]}


def fake_det_data(size: int = 64, n_train: int = 8, n_test: int = 4, train_transform=None):
    """A ``DetectionData``-like object: train / val / test, classes, COCO export, summary."""
    classes = ["red", "green"]
    test = FakeDetDataset(n_test, size, seed=1)
    return SimpleNamespace(
        classes=classes, train=FakeDetDataset(n_train, size, 0, train_transform),
        val=FakeDetDataset(0, size, 2), test=test,
        coco_ground_truth=lambda split: test.coco_ground_truth(classes),
        summary=lambda: {"dataset": "fake_det", "n_train": n_train, "n_test": n_test})
