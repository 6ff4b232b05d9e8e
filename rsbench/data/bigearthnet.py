"""BigEarthNet v1 (Sumbul et al., IGARSS 2019): Sentinel-2 multi-label scenes, 19 classes.

590,326 Sentinel-2 L2A patches of 1.2 x 1.2 km, each labelled with the CORINE Land Cover 2018
classes it contains, read here in the 19-class nomenclature (Sumbul et al., IEEE TNNLS 2021) that
BigEarthNet papers report. On disk, as torchgeo 0.8's ``BigEarthNet(bands="s2")`` reads it::

    <root>/BigEarthNet-v1.0/<patch>/<patch>_B01.tif ... _B12.tif   one single-band GeoTIFF
        per band (B01..B09, B8A, B11, B12: 12 bands, no B10); 10 m bands 120 px, 20 m 60 px,
        60 m 20 px
    <root>/BigEarthNet-v1.0/<patch>/<patch>_labels_metadata.json   {"labels": [43-class names]}
    <root>/bigearthnet-{train,val,test}.csv                        "<s2 patch>,<s1 patch>" lines

Each band is read as torchgeo reads it (rasterio, bilinear to 120 x 120, as int32), then scaled
to reflectance (DN / 10,000, the L2A quantification value) and clipped to [0, 1]. Labels are
torchgeo's: the 43 names mapped through ``BigEarthNet.label_converter`` (names outside the 19
classes are dropped, so a patch may have no label). Class names, the mapping, the split file
names and the folder name are read from torchgeo's class attributes, never copied.

A sample is ``(<patch>/<patch>_labels_metadata.json, label indices)``: the label file names the
patch, so the pre-flight checks and the split file see one file per sample, while the
fingerprint covers every band file too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from rsbench.config import DatasetSpec
from rsbench.data.adapter import DatasetAdapter
from rsbench.data.bundle import SizedDataset, SplitData
from rsbench.data.decode import resized
from rsbench.data.errors import DataError, SplitSpecError
from rsbench.data.split_files import pinned_split
from rsbench.data.splits import parse_split
from rsbench.data.torchgeo_meta import FromTorchGeo

#: Sentinel-2 L2A bands in torchgeo's order (``sort_sentinel2_bands``: B8A after B08).
S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
#: The grid torchgeo resamples every band to.
NATIVE_SIZE = 120
LabelledPatch = tuple[str, tuple[int, ...]]
"""A sample: its label file relative to the root, and the indices of its classes."""


class PatchReader:
    """Chosen bands of one BigEarthNet patch folder as float32 ``[len(bands), 120, 120]``.

    Args:
        bands: band names, in output order.
        scale: raw value mapped to 1.0; values are divided by it and clipped to [0, 1].
    """

    def __init__(self, bands: tuple[str, ...], scale: float) -> None:
        self.bands = tuple(bands)
        self.scale = float(scale)

    def __call__(self, path: Path) -> torch.Tensor:
        """The bands of the patch that ``path`` (any file in its folder) belongs to."""
        import rasterio
        from rasterio.enums import Resampling

        folder = Path(path).parent
        arrays = []
        for band in self.bands:
            with rasterio.open(folder / f"{folder.name}_{band}.tif") as src:
                arrays.append(src.read(indexes=1, out_shape=(NATIVE_SIZE, NATIVE_SIZE),
                                       out_dtype="int32", resampling=Resampling.bilinear))
        tensor = torch.from_numpy(np.stack(arrays, axis=0)).float()
        return tensor.div_(self.scale).clamp_(0.0, 1.0)

    def __repr__(self) -> str:
        return f"PatchReader(bands={self.bands}, scale={self.scale})"


class MultiLabelDataset(SizedDataset):
    """``(image, target)`` pairs: float32 ``[C, size, size]`` in [0, 1] and a ``{0, 1}`` int64
    vector over ``num_labels``; ``transform`` (train only) applies after the resize."""

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


class BigEarthNetAdapter(DatasetAdapter):
    """BigEarthNet v1, Sentinel-2, 19 classes, torchgeo's official train/val/test split."""

    name = "bigearthnet"
    title = "BigEarthNet v1 (Sentinel-2 L2A, 12 bands, 19 classes, multi-label)"
    homepage = "https://bigearth.net"
    torchgeo_class: ClassVar[str] = "torchgeo.datasets:BigEarthNet"
    sensor: ClassVar[str] = "s2_l2a"
    #: L2A digital number of reflectance 1.0 (ESA's quantification value).
    value_scale: ClassVar[float] = 10000.0
    official_splits: ClassVar[tuple[str, ...]] = ("torchgeo",)
    classes = FromTorchGeo(lambda tg: tuple(tg("class_sets")[19]))
    #: 43-class name -> 19-class index (names outside the 19 classes absent).
    label_map = FromTorchGeo(lambda tg: {name: tg("label_converter")[i]
                                         for i, name in enumerate(tg("class_sets")[43])
                                         if i in tg("label_converter")})
    #: Every name a label file may hold (those outside the 19 classes are dropped).
    names_43 = FromTorchGeo(lambda tg: frozenset(tg("class_sets")[43]))
    directory = FromTorchGeo(lambda tg: str(tg("metadata")["s2"]["directory"]))
    split_filenames = FromTorchGeo(lambda tg: {s: str(m["filename"])
                                               for s, m in tg("splits_metadata").items()})

    def expected(self, root: Path) -> str:
        files = ", ".join(self.split_filenames.values())
        return (f"{self.directory}/<patch>/<patch>_B01.tif..._B12.tif (12 single-band GeoTIFFs) "
                f"and <patch>_labels_metadata.json, plus {files}")

    def how_to_get(self) -> str:
        return ("run with --download (torchgeo's BigEarthNet fetches the S2 archive, 66 GB, and "
                f"the split files) or extract BigEarthNet-S2-v1.0.tar.gz from {self.homepage}")

    def reader(self, bands: tuple[str, ...]) -> PatchReader:
        """Reads ``bands`` of a patch as reflectance in [0, 1].

        Raises:
            SpecError: a band BigEarthNet's S2 patches do not have.
        """
        from rsbench.config import SpecError

        unknown = [b for b in bands if b not in S2_BANDS]
        if unknown or not bands:
            raise SpecError(f"dataset {self.name!r}: dataset.bands {list(bands)} not available; "
                            f"allowed: {', '.join(S2_BANDS)}")
        return PatchReader(tuple(bands), self.value_scale)

    def download(self, root: Path) -> None:
        """Everything torchgeo's ``BigEarthNet(bands="s2", download=True)`` fetches."""
        from torchgeo.datasets import BigEarthNet

        root.mkdir(parents=True, exist_ok=True)
        BigEarthNet(str(root), split="train", bands="s2", download=True)

    def official(self, root: Path, name: str, download: bool = False) -> dict:
        """Refused: the scene-classification builder's entry; BigEarthNet is multi-label.

        Raises:
            SpecError: always (the task needs ``type: multilabel``).
        """
        raise self.wrong_type()

    def samples(self, root: Path, download: bool = False) -> list:
        """Refused, as :meth:`official` (a ratio split of a scene-classification task)."""
        raise self.wrong_type()

    def wrong_type(self) -> Exception:
        """The one-line error of a single-label task on this multi-label dataset."""
        from rsbench.config import SpecError

        return SpecError(f"dataset {self.name!r} is multi-label: its tasks have type: multilabel "
                         "(tasks/multilabel/)")

    def labelled_splits(self, root: Path, download: bool = False
                        ) -> dict[str, list[LabelledPatch]]:
        """The ``train``/``val``/``test`` patches the split files list, with their labels.

        Raises:
            DatasetNotFound: a split file or the patch folder is absent.
            DataError: a listed patch has no label file, or a label name is unknown.
        """
        missing = [f for f in self.split_filenames.values() if not (root / f).is_file()]
        if (missing or not (root / self.directory).is_dir()) and download:
            self.download(root)
            missing = [f for f in self.split_filenames.values() if not (root / f).is_file()]
        if missing or not (root / self.directory).is_dir():
            raise self.not_found(root)
        return {split: [self.labelled(root, line.split(",")[0].strip()) for line in
                        (root / name).read_text().strip().splitlines()]
                for split, name in self.split_filenames.items()}

    def labelled(self, root: Path, patch: str) -> LabelledPatch:
        """``(label file, 19-class indices)`` of one patch, as torchgeo maps its 43 names."""
        rel = f"{self.directory}/{patch}/{patch}_labels_metadata.json"
        try:
            names = json.loads((root / rel).read_text())["labels"]
        except (OSError, ValueError, KeyError) as err:
            raise DataError(f"dataset {self.name!r} at {root}: {rel} cannot be read "
                            f"({type(err).__name__}); restore the patch folder from the "
                            "archive") from None
        unknown = [n for n in names if n not in self.names_43]
        if unknown:
            raise DataError(f"dataset {self.name!r} at {root}: {rel} has label(s) {unknown} "
                            "outside BigEarthNet's 43 classes; restore the file")
        return rel, tuple(sorted({self.label_map[n] for n in names if n in self.label_map}))


def band_files(root: Path, rel: str, bands: tuple[str, ...]) -> list[str]:
    """The band files, relative to ``root``, of the patch whose label file is ``rel``."""
    folder = Path(rel).parent
    return [(folder / f"{folder.name}_{b}.tif").as_posix() for b in bands]


def build_bigearthnet_data(spec: DatasetSpec, root: Path, split_dir: Path, download: bool = False,
                           train_transform: Callable | None = None) -> MultiLabelData:
    """The official train/val/test datasets of ``spec``, their split file and fingerprint.

    Raises:
        SplitSpecError: a ratio split or a train fraction (BigEarthNet's split is official).
        SpecError: bands BigEarthNet has not, or a variant.
        DatasetNotFound: the data is absent (says where and how to get it).
        DataError: a band file the split uses is missing, or a label file is unreadable.
    """
    adapter = BigEarthNetAdapter().with_variant(spec.variant)
    if spec.split.get("kind") != "official":
        raise SplitSpecError(f"dataset {adapter.name!r}: use dataset.split.kind: official "
                             "(BigEarthNet's train/val/test split is the one its papers report)")
    split = parse_split(spec.split, adapter.official_splits)
    bands = tuple(spec.bands)
    reader = adapter.reader(bands)
    assignment: dict[str, Any] = adapter.labelled_splits(root, download)
    classes = list(adapter.classes)
    used = [f for items in assignment.values() for rel, _ in items
            for f in (rel, *band_files(root, rel, bands))]

    def part(name: str, transform: Callable | None = None) -> MultiLabelDataset:
        return MultiLabelDataset(root, assignment[name], reader, spec.image_size, len(classes),
                                 transform)

    return MultiLabelData(
        dataset=spec.name, split=split, classes=classes,
        train=part("train", train_transform), val=part("val"), test=part("test"), root=root,
        **pinned_split(spec.name, split, classes, assignment, split_dir, root, used))
