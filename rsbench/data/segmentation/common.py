"""What every segmentation dataset shares: the split spec, the dataset, the built data, PNG I/O.

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
from rsbench.data.errors import DataError, SplitSpecError
from rsbench.data.preparation import write_png  # noqa: F401 (re-exported for the demo data)
from rsbench.data.splits import finite_number, parse_seed, parse_train_fraction

IGNORE_INDEX = 255
PairSample = tuple[str, str]
"""A segmentation sample: image and mask paths relative to the dataset root (POSIX form)."""

SPLIT_KEYS = {"kind", "name", "val_fraction", "seed"}


@dataclass(frozen=True)
class SegSplit:
    """A validated segmentation ``dataset.split``: the official split, maybe a val carved off.

    Attributes:
        kind: always ``"official"``.
        name: the dataset's official split name (e.g. ``"val-as-test"`` for LoveDA).
        val_fraction: fraction of the train groups (files, or tiles for ISPRS) held out as val.
        seed: the seed the val carve-out is drawn from (sha256 order, no RNG).
        note: what the official split means for this dataset (written into the split file).
        train_fraction: the label-efficiency fraction of train groups kept (seeded, nested; see
            rsbench.data.fractions), or None for all.
    """

    kind: str
    name: str
    val_fraction: float = 0.0
    seed: int = 0
    note: str = ""
    train_fraction: float | None = None

    def to_dict(self) -> dict:
        """The parameters that define the split (what records and split files carry)."""
        out = {"kind": self.kind, "name": self.name, "val_fraction": self.val_fraction,
               "seed": self.seed}
        if self.note:
            out["note"] = self.note
        if self.train_fraction is not None:  # only when set: other splits' hashes stay put
            out["train_fraction"] = self.train_fraction
        return out

    def file_stem(self, dataset: str) -> str:
        """e.g. ``loveda_official_val-as-test``, ``potsdam_official_mmseg_val0.1_seed0`` or
        ``loveda_official_val-as-test_frac0.05_seed0``."""
        stem = f"{dataset}_official_{self.name}"
        if self.val_fraction:
            stem += f"_val{self.val_fraction!r}"
        if self.train_fraction is not None:
            stem += f"_frac{self.train_fraction!r}"
        seeded = self.val_fraction or self.train_fraction is not None
        return f"{stem}_seed{self.seed}" if seeded else stem


def parse_seg_split(raw: dict, official_name: str, note: str = "",
                    with_fraction: bool = False) -> SegSplit:
    """Validate ``{kind: official, name?, val_fraction?, seed?}``; errors name the field.

    ``with_fraction`` also accepts ``train_fraction`` (builders that apply it pass True).

    Raises:
        SplitSpecError: another kind, unknown keys, another name, a bad fraction or seed.
    """
    if not isinstance(raw, dict):
        raise SplitSpecError(f"dataset.split must be a mapping, got {raw!r}")
    if raw.get("kind") != "official":
        raise SplitSpecError(f"dataset.split.kind must be 'official' for segmentation datasets, "
                             f"got {raw.get('kind')!r}")
    allowed = SPLIT_KEYS | ({"train_fraction"} if with_fraction else set())
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SplitSpecError(f"dataset.split: unknown field(s) {unknown}; allowed: "
                             f"{sorted(allowed)}")
    name = raw.get("name", official_name)
    if name != official_name:
        raise SplitSpecError(f"dataset.split.name must be {official_name!r}, got {name!r}")
    vf = finite_number(raw.get("val_fraction", 0.0))
    if vf is None or not 0.0 <= vf < 1.0:
        raise SplitSpecError(f"dataset.split.val_fraction must be a number in [0, 1), got "
                             f"{raw.get('val_fraction')!r}")
    return SegSplit("official", name, vf, parse_seed(raw, 0), note, parse_train_fraction(raw))


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
