"""The torch Dataset every split is: a list of files, one reader, one size, maybe a transform."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from rsbench.data.base import Sample
from rsbench.data.bundle import SizedDataset
from rsbench.data.decode import resized


class SceneDataset(SizedDataset):
    """``(image, label)`` pairs: float32 ``[C, size, size]`` in [0, 1] and an ``int``.

    Reading is deterministic; the only randomness is ``transform``'s, applied after the resize
    (the train split gets the protocol's augmentation, val and test get none).

    Args:
        root: the dataset root the sample paths are relative to.
        samples: ``(relative path, label)`` pairs, in the order they are served.
        reader: decodes one file to float32 ``[C, H, W]`` in [0, 1].
        size: output height and width (antialiased bilinear resize).
        transform: a torchvision v2 callable on the resized image, or None.
    """

    def __init__(self, root: Path, samples: list[Sample], reader: Callable[[Path], torch.Tensor],
                 size: int, transform: Callable | None = None) -> None:
        self.root = Path(root)
        self.samples = list(samples)
        self.reader = reader
        self.size = int(size)
        self.transform = transform

    @property
    def targets(self) -> list[int]:
        """The labels, in sample order."""
        return [label for _, label in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        rel, label = self.samples[index]
        image = resized(self.reader(self.root / rel), self.size)
        if self.transform is not None:
            image = self.transform(image)
        return image, label

    def __repr__(self) -> str:
        return (f"SceneDataset(n={len(self)}, root={str(self.root)!r}, size={self.size}, "
                f"reader={self.reader!r}, transform={'yes' if self.transform else 'no'})")
