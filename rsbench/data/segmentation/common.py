"""What every segmentation dataset shares: the sample, the dataset, the built data, label colours.

A sample is a pair of paths relative to the dataset root, ``(image, mask)``. Images decode to
float32 ``[C, H, W]`` in [0, 1] at native resolution (never resized: the protocol crops for
training and slides a window for inference); masks decode, through the adapter's ``read_mask``,
to int64 ``[H, W]`` class indices ``0..K-1`` with ``IGNORE_INDEX`` for ignored pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rsbench.data.bundle import SizedDataset, SplitData
from rsbench.data.decode import read_image
from rsbench.data.errors import DataError
from rsbench.data.preparation import write_png  # noqa: F401 (re-exported for the demo data)

IGNORE_INDEX = 255
PairSample = tuple[str, str]
"""A segmentation sample: image and mask paths relative to the dataset root (POSIX form)."""

def colour_to_index(rgb: np.ndarray, palette: dict[tuple[int, int, int], int],
                    unknown: int = IGNORE_INDEX) -> np.ndarray:
    """Map an ``[H, W, 3]`` colour-coded label to uint8 indices; colours not in ``palette``
    become ``unknown``."""
    code = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    out = np.full(code.shape, unknown, np.uint8)
    for (r, g, b), index in palette.items():
        out[code == ((r << 16) | (g << 8) | b)] = index
    return out


class SegmentationDataset(SizedDataset):
    """``(image, mask)`` pairs at native resolution: float32 ``[C, H, W]`` in [0, 1] and int64
    ``[H, W]`` (indices ``0..K-1``, ``255`` ignored).

    Args:
        root: the dataset root the sample paths are relative to.
        samples: ``(image, mask)`` relative paths, in the order they are served.
        read_mask: decodes one mask file to uint8 ``[H, W]`` indices.
        transform: called as ``image, mask = transform(image, tv_tensors.Mask(mask))`` (joint
            torchvision v2 augmentation), or None.
    """

    def __init__(self, root: Path, samples: list[PairSample],
                 read_mask: Callable[[Path], np.ndarray],
                 transform: Callable | None = None) -> None:
        self.root = Path(root)
        self.samples = list(samples)
        self.read_mask = read_mask
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        img_rel, mask_rel = self.samples[index]
        image = read_image(self.root / img_rel)
        mask = torch.from_numpy(np.ascontiguousarray(self.read_mask(self.root / mask_rel)))
        mask = mask.to(torch.int64)
        if image.shape[-2:] != mask.shape:
            raise DataError(f"{img_rel}: image {tuple(image.shape[-2:])} and mask "
                            f"{tuple(mask.shape)} differ in size")
        if self.transform is not None:
            from torchvision import tv_tensors

            image, mask = self.transform(image, tv_tensors.Mask(mask))
            image = image.as_subclass(torch.Tensor)
            mask = mask.as_subclass(torch.Tensor)
        return image, mask

    def __repr__(self) -> str:
        return (f"SegmentationDataset(n={len(self)}, root={str(self.root)!r}, "
                f"transform={'yes' if self.transform else 'no'})")


@dataclass
class SegmentationData(SplitData):
    """Segmentation: datasets yield ``(image, mask)`` with ``ignore_index`` for ignored pixels;
    ``classes`` excludes ignore. Other fields are :class:`~rsbench.data.bundle.SplitData`'s."""

    ignore_index: int = 255
    #: What the adapter knows of how the folder was prepared (e.g. ISPRS: variant, subset).
    prepared: dict | None = None

    def summary(self) -> dict:
        """JSON-ready provenance for a run record, with the ignore index (and ``prepared``)."""
        out = {**super().summary(), "ignore_index": self.ignore_index}
        return {**out, "prepared": self.prepared} if self.prepared else out
