"""In-memory fake segmentation data meeting the ``build_segmentation_data`` contract.

Each image is a grid of ``cell`` x ``cell`` blocks; a block's class decides its colour (plus
noise), so a model that sees colour can reach a high mIoU. Some pixels are labelled 255 (ignore).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset

PALETTE = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.1, 0.2, 0.9]])


class FakeSegDataset(Dataset):
    def __init__(self, n: int, size: int, cell: int, seed: int, transform=None) -> None:
        g = torch.Generator().manual_seed(seed)
        k = len(PALETTE)
        cells = torch.randint(0, k, (n, size // cell, size // cell), generator=g)
        self.masks = cells.repeat_interleave(cell, 1).repeat_interleave(cell, 2)
        colour = PALETTE[self.masks].permute(0, 3, 1, 2)
        noise = 0.05 * torch.randn(colour.shape, generator=g)
        self.images = (colour + noise).clamp(0, 1).float()
        self.masks[:, :2, :2] = 255  # a few ignore pixels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        image, mask = self.images[i], self.masks[i].long()
        if self.transform is not None:
            from torchvision import tv_tensors

            image, mask = self.transform(image, tv_tensors.Mask(mask))
        return image, torch.as_tensor(mask).as_subclass(torch.Tensor)


@dataclass
class FakeSegData:
    train: Dataset
    val: Dataset
    test: Dataset
    classes: list = field(default_factory=lambda: ["red", "green", "blue"])
    ignore_index: int = 255
    split_hash: str = "fake"
    fingerprint: str = "fake"

    def summary(self) -> dict:
        return {"dataset": "fake", "split_hash": self.split_hash, "n_train": len(self.train)}


def fake_seg_data(size: int = 32, cell: int = 8, n_train: int = 48, n_test: int = 6,
                  train_transform=None, test_size: int | None = None) -> FakeSegData:
    return FakeSegData(
        train=FakeSegDataset(n_train, size, cell, 0, train_transform),
        val=FakeSegDataset(4, size, cell, 1),
        test=FakeSegDataset(n_test, test_size or size, cell, 2),
    )
