"""Multi-label patch datasets read band by band (BigEarthNet v1 and v2): the reader, the datasets
and the one builder their adapters share.

A patch is a folder of single-band GeoTIFFs named ``<patch>_<band>.tif``. Sentinel-2 bands are
read as torchgeo's ``BigEarthNet`` reads them (rasterio, bilinear to 120 x 120, as int32), then
divided by the adapter's value scale and clipped to [0, 1]. Sentinel-1 bands (VV, VH) are
backscatter in dB as the archives store them (float32): read at 120 x 120 as float32 and mapped to
[0, 1] by ``rsbench.data.sar`` (torchgeo casts them to int32, which rounds every value to a whole
dB; rsbench keeps the stored decimals). A patch whose two sensors live in two folders is read
through ``partners``: the sample's folder name -> the other sensor's folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch

from rsbench.config import DatasetSpec, SpecError
from rsbench.data.bundle import SizedDataset, SplitData
from rsbench.data.decode import resized
from rsbench.data.errors import SplitSpecError
from rsbench.data.sar import unit_from_db
from rsbench.data.split_files import pinned_split
from rsbench.data.splits import parse_split

#: Sentinel-2 L2A bands in torchgeo's order (``sort_sentinel2_bands``: B8A after B08).
S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
#: Sentinel-1 polarisations, as the task names them (qualified ``s1:VV`` beside S2 bands).
S1_BANDS = ("VV", "VH")
#: The grid torchgeo resamples every band to.
NATIVE_SIZE = 120
LabelledPatch = tuple[str, tuple[int, ...]]
"""A sample: a file of its patch relative to the root, and the indices of its classes."""


def polarisation(band: str) -> str | None:
    """``VV`` for ``VV`` or ``s1:VV``; None for a band that is not Sentinel-1's."""
    name = band.split(":", 1)[1] if band.startswith("s1:") else band
    return name if name in S1_BANDS else None


class PatchReader:
    """Chosen bands of one patch as float32 ``[len(bands), 120, 120]`` (see the module text).

    Args:
        bands: band names, in output order (S2 names, ``VV``/``VH`` or ``s1:VV``/``s1:VH``).
        scale: raw S2 value mapped to 1.0; S2 values are divided by it and clipped to [0, 1]
            (S1 values are mapped by ``rsbench.data.sar``).
        partners: the sample's patch folder name -> the other sensor's patch folder, for tasks
            that read both sensors; None when every band is in the sample's own folder.
        s1_first: whether the sample's own folder is the Sentinel-1 one.
    """

    def __init__(self, bands: tuple[str, ...], scale: float,
                 partners: Mapping[str, Path] | None = None, s1_first: bool = False) -> None:
        self.bands, self.scale = tuple(bands), float(scale)
        self.partners, self.s1_first = partners, s1_first

    def files(self, path: Path) -> list[Path]:
        """The band files of the patch that ``path`` (a file in its folder) belongs to."""
        own = Path(path).parent
        other = self.partners[own.name] if self.partners is not None else own
        out = []
        for band in self.bands:
            pol = polarisation(band)
            folder = own if (pol is not None) == self.s1_first else other
            out.append(folder / f"{folder.name}_{pol or band}.tif")
        return out

    def __call__(self, path: Path) -> torch.Tensor:
        """The bands of the patch that ``path`` belongs to."""
        import rasterio
        from rasterio.enums import Resampling

        images = []
        for band, file in zip(self.bands, self.files(path), strict=True):
            s1 = polarisation(band) is not None
            with rasterio.open(file) as src:
                array = src.read(indexes=1, out_shape=(NATIVE_SIZE, NATIVE_SIZE),
                                 out_dtype="float32" if s1 else "int32",
                                 resampling=Resampling.bilinear)
            image = torch.from_numpy(array).float()
            images.append(unit_from_db(image) if s1 else image.div_(self.scale).clamp_(0.0, 1.0))
        return torch.stack(images)

    def __repr__(self) -> str:
        pairs = "" if self.partners is None else f", partners={len(self.partners)}"
        return f"PatchReader(bands={self.bands}, scale={self.scale}{pairs})"


class MultiLabelDataset(SizedDataset):
    """``(image, target)`` pairs: float32 ``[C, size, size]`` and a ``{0, 1}`` int64 vector over
    ``num_labels``; ``transform`` (train only) applies after the resize."""

    def __init__(self, root: Path, samples: list[LabelledPatch], reader: Callable, size: int,
                 num_labels: int, transform: Callable | None = None) -> None:
        self.root, self.samples, self.reader = Path(root), list(samples), reader
        self.size, self.num_labels, self.transform = int(size), int(num_labels), transform

    def multi_hot(self, labels: tuple[int, ...]) -> torch.Tensor:
        """The ``{0, 1}`` vector of ``labels``."""
        target = torch.zeros(self.num_labels, dtype=torch.long)
        target[list(labels)] = 1
        return target

    @property
    def targets(self) -> list[list[int]]:
        """The multi-hot label vectors, in sample order."""
        return [self.multi_hot(labels).tolist() for _, labels in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rel, labels = self.samples[index]
        image = resized(self.reader(self.root / rel), self.size)
        if self.transform is not None:
            image = self.transform(image)
        return image, self.multi_hot(labels)


class MultiLabelData(SplitData):
    """Multi-label scenes: datasets yield ``(image, multi-hot target)``; ``classes`` in label
    order; the fields are :class:`~rsbench.data.bundle.SplitData`'s."""

    def summary(self) -> dict:
        """The provenance, plus the classes no test image has: their average precision is
        undefined and counts 0 in ``map_macro`` (``rsbench.tasks.multilabel``)."""
        present = {label for _, labels in getattr(self.test, "samples", []) for label in labels}
        return {**super().summary(),
                "classes_without_test_positive": [c for i, c in enumerate(self.classes)
                                                  if i not in present]}


@dataclass
class PatchSplits:
    """The official splits of a patch dataset and, for two-sensor tasks, the folder pairs."""

    assignment: dict[str, list[LabelledPatch]]
    partners: dict[str, Path] | None = field(default=None)


class PatchAdapter(Protocol):
    """What :func:`build_patch_data` needs of an adapter (BigEarthNet v1 and v2)."""

    name: ClassVar[str]
    value_scale: ClassVar[float]
    classes: Any

    def with_variant(self, name: str | None) -> Any: ...
    def splits(self, root: Path, download: bool) -> PatchSplits: ...
    def checked_bands(self, bands: tuple[str, ...]) -> tuple[str, ...]: ...
    def s1_first(self) -> bool: ...
    def split_dataset(self) -> str: ...


def checked(name: str, bands: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """``bands`` when each is in ``allowed``.

    Raises:
        SpecError: none, or a band outside ``allowed`` (the message lists them).
    """
    unknown = [b for b in bands if b not in allowed]
    if unknown or not bands:
        raise SpecError(f"dataset {name!r}: dataset.bands {list(bands)} not available; "
                        f"allowed: {', '.join(allowed)}")
    return tuple(bands)


def build_patch_data(adapter: PatchAdapter, spec: DatasetSpec, root: Path, split_dir: Path,
                     download: bool = False, train_transform: Callable | None = None
                     ) -> MultiLabelData:
    """The official train/val/test datasets of ``spec``, their split file and fingerprint.

    Raises:
        SplitSpecError: a ratio split or a train fraction (the split is the dataset's own).
        SpecError: bands the variant has not, or a variant the dataset has not.
        DatasetNotFound: the data is absent (says where and how to get it).
        DataError: a listed patch's labels cannot be read.
    """
    adapter = adapter.with_variant(spec.variant)
    if spec.split.get("kind") != "official":
        raise SplitSpecError(f"dataset {adapter.name!r}: use dataset.split.kind: official "
                             "(its train/val/test split is the one its papers report)")
    split = parse_split(spec.split, ("torchgeo",))
    bands = adapter.checked_bands(tuple(spec.bands))
    found = adapter.splits(root, download)
    reader = PatchReader(bands, adapter.value_scale, found.partners, adapter.s1_first())
    classes = list(adapter.classes)
    used = [f for items in found.assignment.values() for rel, _ in items
            for f in (rel, *(p.relative_to(root).as_posix() for p in reader.files(root / rel)))]

    def part(name: str, transform: Callable | None = None) -> MultiLabelDataset:
        return MultiLabelDataset(root, found.assignment[name], reader, spec.image_size,
                                 len(classes), transform)

    return MultiLabelData(
        dataset=spec.name, split=split, classes=classes,
        train=part("train", train_transform), val=part("val"), test=part("test"), root=root,
        **pinned_split(adapter.split_dataset(), split, classes, found.assignment, split_dir, root,
                       used))
