"""In-memory multispectral scenes a model can learn, and the tiny ViT that reads their bands.

Label ``j`` of ``k`` is present when the bands ``j, j + k, j + 2k, ...`` are bright (0.7 above a
0.1-0.2 noise floor) over the whole image: a spectral signature that random crops and flips keep,
so the geometric augmentation never changes a label. Multi-label scenes draw each label with
probability 1/2; single-label scenes have one class each.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rsbench.backbones import InputSpec, build_backbone
from rsbench.data.bundle import SizedDataset


class SpectralScenes(SizedDataset):
    """``(image [bands, size, size] float32 in [0, 1], target)``: a ``{0, 1}`` int64 vector
    over ``k`` labels (``multilabel``) or a class index."""

    def __init__(self, n: int, bands: int, size: int, k: int, seed: int, multilabel: bool,
                 transform=None) -> None:
        g = torch.Generator().manual_seed(seed)
        if multilabel:
            self.targets = (torch.rand(n, k, generator=g) < 0.5).long()
        else:
            self.targets = torch.arange(n) % k
        present = self.targets if multilabel else torch.eye(k, dtype=torch.long)[self.targets]
        bright = present[:, torch.arange(bands) % k].float()  # [n, bands]
        noise = 0.1 + 0.1 * torch.rand(n, bands, size, size, generator=g)
        self.images = (noise + 0.7 * bright[:, :, None, None]).clamp(0, 1)
        self.multilabel, self.transform = multilabel, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        image = self.images[i]
        if self.transform is not None:
            image = self.transform(image)
        target = self.targets[i]
        return image, target if self.multilabel else int(target)


@dataclass
class SpectralData:
    """The three splits and class names, as a task type's ``build_data`` returns them."""

    train: SpectralScenes
    val: SpectralScenes
    test: SpectralScenes
    classes: list[str]

    def summary(self) -> dict:
        return {"dataset": "spectral_fake", "n_train": len(self.train), "n_test": len(self.test)}


def spectral_data(bands: int, size: int, k: int, multilabel: bool, n_train: int = 64,
                  n_test: int = 48):
    """``make_data(train_transform=None) -> SpectralData`` for a ``ProtocolContext``."""

    def make(train_transform=None) -> SpectralData:
        return SpectralData(
            train=SpectralScenes(n_train, bands, size, k, 0, multilabel, train_transform),
            val=SpectralScenes(0, bands, size, k, 1, multilabel),
            test=SpectralScenes(n_test, bands, size, k, 2, multilabel),
            classes=[f"label{j}" for j in range(k)])

    return make


def spectral_vit(bands: int, size: int, **overrides):
    """The tests' tiny ViT (``tiny_models.tiny_vit``: ViT-Ti, 2 blocks, 8 px patches, seed 0)
    reading ``bands`` channels normalised with mean 0.5, std 0.25."""
    torch.manual_seed(0)
    spec = InputSpec(bands=tuple(f"B{i:02d}" for i in range(bands)), mean=(0.5,) * bands,
                     std=(0.25,) * bands, img_size=size)
    return build_backbone("vit_tiny_patch16", spec, depth=2, patch_size=8, **overrides)
